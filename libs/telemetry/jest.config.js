// Jest settings for @mozaiks/telemetry; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'telemetry', rootDir: __dirname };
