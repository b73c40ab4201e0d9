// Runs every project's tests: each lib, each service, and the end-to-end suite.
module.exports = {
  // A global option: the projects' own values are not read when they run together.
  testTimeout: 60000,
  projects: ['<rootDir>/libs/*', '<rootDir>/services/*', '<rootDir>/e2e'],
};
