// Jest settings for @mozaiks/gateway; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'gateway', rootDir: __dirname };
