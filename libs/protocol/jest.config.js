// Jest settings for @mozaiks/protocol; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'protocol', rootDir: __dirname };
