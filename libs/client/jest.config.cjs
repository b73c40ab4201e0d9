// Jest settings for @mozaiks/client; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'client', rootDir: __dirname };
