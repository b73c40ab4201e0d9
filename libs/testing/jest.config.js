// Jest settings for @mozaiks/testing; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'testing', rootDir: __dirname };
