import { defineConfig } from 'vitest/config'

/**
 * Files about the engines themselves (native against JS, the addon's boundary, packaging, the
 * benchmark definitions): they pick their engines explicitly, so they run once. So do the
 * distributed tests: what they test (queues, workers, faults) is the same on either engine,
 * and their workers are separate processes that use the default engine.
 */
const ENGINE_SPECIFIC = ['__test__/native-*.test.ts', '__test__/packaging.test.ts', '__test__/bench-definitions.test.ts', '__test__/browser.test.ts', '__test__/distributed-*.test.ts']

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Everything else runs twice, once per engine: models built with backend 'auto' (the
    // default) follow BACKPROP_BACKEND. The native project needs the addon (npm run build).
    projects: [
      ...(['js', 'native'] as const).map((engine) => ({
        extends: true as const,
        test: {
          name: engine,
          include: ['__test__/**/*.test.ts'],
          exclude: ENGINE_SPECIFIC,
          env: { BACKPROP_BACKEND: engine },
        },
      })),
      {
        extends: true as const,
        test: { name: 'engines', include: ENGINE_SPECIFIC },
      },
      // The native kernels vectorise for the CPU's ISA tier; parity must hold on the lower tiers
      // too (BACKPROP_ISA caps the tier; it is read once per process, hence a project each).
      ...(['scalar', 'avx2'] as const).map((isa) => ({
        extends: true as const,
        test: { name: `parity-${isa}`, include: ['__test__/native-parity.test.ts'], env: { BACKPROP_ISA: isa } },
      })),
    ],
  },
})
