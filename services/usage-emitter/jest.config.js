// Jest settings for @mozaiks/usage-emitter; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'usage-emitter', rootDir: __dirname };
