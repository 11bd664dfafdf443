// The layering check behind `npm run lint` (issue 9): no import cycle between folders of src/ (type-only
// imports count: a cycle of types is still a cycle of design). Which folders may import adapters is
// ESLint's no-restricted-imports (eslint.config.js), so an editor shows it as you type.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment: 'Folders of src/ import each other in one direction only: move the shared part (a type, a port) down, e.g. into src/contract.',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
