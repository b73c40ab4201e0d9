// Jest settings for @mozaiks/executor; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'executor', rootDir: __dirname };
