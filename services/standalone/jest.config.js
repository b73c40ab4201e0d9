// Jest settings for @mozaiks/standalone; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'standalone', rootDir: __dirname };
