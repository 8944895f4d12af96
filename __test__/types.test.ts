/**
 * The public types say what the API accepts. These checks run in `npm run typecheck` (which
 * .ci/run runs): each `@ts-expect-error` fails the type check if the line it marks stops being
 * an error, so a loosened type cannot pass unnoticed. The runtime assertions are the same facts.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { ShapeError, earlyStopping, reduceLROnPlateau, type FitOptions, type Features, type LogKey, type Targets } from '../lib/index.js'

describe('public types', () => {
  it('monitor takes the keys fit logs, and nothing else', () => {
    expectTypeOf<'valLoss' | 'loss' | 'accuracy' | 'valAccuracy' | 'valMeanAbsoluteError'>().toExtend<LogKey>()
    // @ts-expect-error Python's spelling is not a key fit logs
    expect(() => earlyStopping({ monitor: 'val_loss' }).setModel).not.toThrow()
    // @ts-expect-error nor is a metric that does not exist
    expect(reduceLROnPlateau({ monitor: 'valPrecision' }).monitor).toBe('valPrecision')
  })

  it('validationData is [features, targets]', () => {
    expectTypeOf<NonNullable<FitOptions['validationData']>>().toEqualTypeOf<[Features, Targets]>()
  })

  it('errors carry a literal code', () => {
    expectTypeOf(new ShapeError('x').code).toEqualTypeOf<'ERR_BACKPROP_SHAPE'>()
    expect(new ShapeError('x').code).toBe('ERR_BACKPROP_SHAPE')
  })
})
