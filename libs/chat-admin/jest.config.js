// Jest settings for @mozaiks/chat-admin; the shared part lives in jest.preset.js.
module.exports = { ...require('../../jest.preset.js'), displayName: 'chat-admin', rootDir: __dirname };
