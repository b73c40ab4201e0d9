// Jest settings for @mozaiks/auth; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'auth', rootDir: __dirname };
