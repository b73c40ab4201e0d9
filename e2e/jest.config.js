// Jest settings for the end-to-end suite; the shared part lives in jest.preset.js.
module.exports = { ...require('../jest.preset.js'), displayName: 'e2e', rootDir: __dirname, testTimeout: 60000 };
