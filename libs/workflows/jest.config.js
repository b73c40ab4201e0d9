// Jest settings for @mozaiks/workflows; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'workflows', rootDir: __dirname };
