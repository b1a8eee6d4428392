export * from './client';
export * from './local-server';
