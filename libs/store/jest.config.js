// Jest settings for @mozaiks/store; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'store', rootDir: __dirname };
