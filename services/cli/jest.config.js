// Jest settings for @mozaiks/cli; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'cli', rootDir: __dirname };
