/**
 * The import rules of the two packages (`npm run lint:imports`, part of `npm test`).
 * docs/architecture.md ("Layering") explains them; this file is what enforces them.
 *
 * Paths are relative to the repository root. Every rule is an error. The check reads the
 * TypeScript sources, type-only imports included (tsPreCompilationDeps), and resolves the
 * lab's `shadow-drivers` imports through the workspace symlink and the package's `exports`
 * to the runtime's built entry points (packages/runtime/dist/src/...), so it needs a build
 * first (`npm run build`; `npm test` builds before it checks).
 */

/** The runtime's sources. */
const RT = '^packages/runtime/src/';

module.exports = {
  forbidden: [
    // --- Untrusted drivers (src/drivers/**) ---------------------------------------------------
    {
      name: 'driver-imports-only-the-driver-api',
      comment:
        'A driver runs in an isolation domain and may use only the driver-author API (src/driver/), ' +
        'the class contracts (src/classes/<class>/, classes/contract.ts, classes/driver-api.ts), ' +
        'the virtual devices\' hardware protocols (devices/framing.ts, devices/<class>/*-protocol.ts), ' +
        'other files of drivers/, node: builtins and koffi. Nothing of the kernel (not even its ' +
        'types: no driver needs them), isolation, taps, tracker, shadows, manager, nbd, observe, cli, ' +
        'faults, testing, runtime.ts, index.ts.',
      severity: 'error',
      from: { path: `${RT}drivers/` },
      to: {
        path: '^packages/',
        pathNot: [
          `${RT}driver/`,
          `${RT}drivers/`,
          `${RT}classes/(block|net|sound|serial)/`,
          `${RT}classes/(contract|driver-api)\\.ts$`,
          `${RT}devices/framing\\.ts$`,
          `${RT}devices/[^/]+/[^/]+-protocol\\.ts$`,
        ],
      },
    },
    {
      name: 'driver-stays-in-its-class',
      comment:
        'A driver of one class (drivers/<class>/) uses that class\'s contract, protocols and ' +
        'fellow drivers only: a block driver imports nothing of classes/net/ or drivers/sound/. ' +
        '(drivers/index.ts, the catalog of built-in manifests, sits above the class folders.)',
      severity: 'error',
      from: { path: `${RT}drivers/([^/]+)/` },
      to: {
        path: `${RT}(classes|devices|drivers)/[^/]+/`,
        pathNot: `${RT}(classes|devices|drivers)/$1/`,
      },
    },
    {
      name: 'driver-npm-only-koffi',
      comment: 'The only packages a driver may load are koffi (the FFI the NBD and packet drivers use) and, in the ' +
        'serialport driver, the unmodified driver it shadows (@serialport/bindings-cpp); node: builtins are free.',
      severity: 'error',
      from: { path: `${RT}drivers/` },
      to: { path: 'node_modules/', pathNot: ['node_modules/koffi/', 'node_modules/@serialport/bindings-cpp/'] },
    },

    // --- The kernel (src/kernel/**) -------------------------------------------------------------
    {
      name: 'kernel-not-above-itself',
      comment:
        'The kernel (devices, registry, resources, services, OS facilities) is what the shadow ' +
        'mechanisms sit on; it knows nothing of taps, tracker, shadows, the manager, the drivers, ' +
        'the NBD export, the CLI or the composition root. It may use classes/, isolation/ (the ' +
        'domain kinds its resources are opened for), errors.ts and clock.ts.',
      severity: 'error',
      from: { path: `${RT}kernel/` },
      to: { path: `${RT}(taps/|tracker/|shadows/|manager/|drivers/|nbd/|cli/|runtime\\.ts$|index\\.ts$)` },
    },

    // --- Taps, tracker, shadows: mechanisms that the manager wires ------------------------------
    {
      name: 'mechanisms-do-not-wire',
      comment:
        'Taps, the object tracker and shadows are mechanisms; only manager/ (and runtime.ts above ' +
        'it) wires them to devices and drivers. They import no manager, runtime.ts, index.ts, cli, ' +
        'isolation, drivers or nbd.',
      severity: 'error',
      from: { path: `${RT}(taps|tracker|shadows)/` },
      to: { path: `${RT}(manager/|isolation/|drivers/|nbd/|cli/|runtime\\.ts$|index\\.ts$)` },
    },
    {
      name: 'only-the-manager-wires-mechanisms',
      comment:
        'Nothing but the manager imports taps, tracker or shadows. One exception, by design: a ' +
        'shadow is attached as a tap\'s observer, so shadows/ uses the tap\'s types.',
      severity: 'error',
      from: { pathNot: `${RT}(manager|shadows)/` },
      to: { path: `${RT}(taps|tracker|shadows)/` },
    },
    {
      name: 'only-the-runtime-uses-the-manager',
      comment:
        'The manager is used by the composition root (runtime.ts) and the package entry ' +
        '(index.ts, types only); everything else reaches it through the Runtime.',
      severity: 'error',
      from: { pathNot: `${RT}(manager/|runtime\\.ts$|index\\.ts$)` },
      to: { path: `${RT}manager/` },
    },

    {
      name: 'mechanisms-without-node',
      comment:
        'The class contracts, taps, tracker, shadows and the restart policy use no node: module, ' +
        'so they run in unit tests without threads, processes or files; node: stays at the edges ' +
        '(isolation, the kernel\'s resources and services, drivers, nbd, cli).',
      severity: 'error',
      from: { path: `${RT}(classes/|taps/|tracker/|shadows/|manager/restart-policy\\.ts$)` },
      to: { dependencyTypes: ['core'] },
    },

    // --- The two packages -----------------------------------------------------------------------
    {
      name: 'runtime-not-into-lab',
      comment: 'The published runtime depends on nothing of the private lab.',
      severity: 'error',
      from: { path: '^packages/runtime/' },
      to: { path: '^packages/lab/' },
    },
    {
      name: 'lab-through-package-name',
      comment:
        'The lab imports the runtime as a user would: by its package name (`shadow-drivers`, ' +
        'resolved through the workspace), never by a relative path into packages/runtime.',
      severity: 'error',
      from: { path: '^packages/lab/' },
      to: { path: '^packages/runtime/', dependencyTypesNot: ['aliased-workspace'] },
    },
    {
      name: 'lab-only-public-entry-points',
      comment:
        'Through the package name, only the entry points package.json exports: ".", ./driver, ' +
        './driver/{block,net,sound,serial}, ./devices, ./faults, ./testing, ./serialport, ./dashboard (never shadow-drivers/dist/...).',
      severity: 'error',
      from: { path: '^packages/lab/' },
      to: {
        path: '^packages/runtime/',
        pathNot:
          '^packages/runtime/(dist/src/(index|driver/(index|block|net|sound|serial)|devices/index|faults/index|testing/index|frontends/serialport|dashboard/index)\\.(d\\.ts|js)|package\\.json)$',
      },
    },

    // --- Everywhere -----------------------------------------------------------------------------
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only ones included: a type lives in the file that owns it.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment:
        'Every import resolves (a deep import such as shadow-drivers/dist/... is not exported and ' +
        'does not). If `shadow-drivers` itself fails to resolve, build first: npm run build.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Packages are leaves; the runtime's compiled output is where the lab's imports land, not a source to cruise.
    doNotFollow: { path: ['node_modules', '^packages/[^/]+/dist/'] },
    // Type-only imports count: a cycle or a layer crossing through types is one all the same.
    tsPreCompilationDeps: true,
    // Both packages extend the same compiler options (NodeNext: `./x.js` names `./x.ts`).
    // An absolute path, so that the rules also run from another directory (the rules' test
    // cruises a fixture tree with it).
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.base.json') },
    // Read the package.json files from each module's own up to the root: the root's
    // `workspaces` is what marks `shadow-drivers` in the lab as the workspace package
    // (dependency type aliased-workspace), and the lab's own package.json lists it.
    combinedDependencies: true,
    // Resolve `shadow-drivers` and its subpaths as Node does, through package.json `exports`.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'node', 'default'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
