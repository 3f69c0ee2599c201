// One jest run over every package and service, so the whole suite ends with one summary.
export default {
  projects: [
    '<rootDir>/packages/*/jest.config.js',
    '<rootDir>/services/*/jest.config.js',
    '<rootDir>/examples/*/jest.config.js',
    '<rootDir>/reliability*/jest.config.js',
  ],
};
