// Jest settings for @mozaiks/engine; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'engine', rootDir: __dirname };
