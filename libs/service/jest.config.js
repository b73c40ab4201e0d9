// Jest settings for @mozaiks/service; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'service', rootDir: __dirname };
