// Jest settings for @mozaiks/config; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'config', rootDir: __dirname };
