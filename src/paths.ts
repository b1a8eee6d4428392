import path from 'node:path';

/** The repository root: every relative path of the project resolves from here, whatever the cwd. */
export const projectRoot = path.resolve(__dirname, '..');

/** Local state of the embedded defaults (database files, Temporal's SQLite file, spill files). */
export const stateDir = process.env.MMS_STATE_DIR ? path.resolve(process.env.MMS_STATE_DIR) : path.join(projectRoot, '.mms');

export const toolsBinDir = path.join(projectRoot, '.tools', 'bin');
