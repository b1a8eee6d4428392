export * from './client';
export * from './local-server';
export * from './cache';
export * from './coalesce';
