/**
 * Which simulcast layer one viewer gets. Pure: the layers' sizes and
 * bitrates, the size the viewer renders at and its estimated bandwidth go
 * in, a layer index comes out. Unit-tested in layer-select.test.ts.
 *
 * The viewer gets the smallest layer at least as wide as its picture (no
 * pixels it cannot show). Its bandwidth estimate (REMB) moves it down: when
 * the current layer no longer fits (STAY_HEADROOM), the highest one below
 * that does. It cannot move it up: a receiver's estimate stays near what it
 * receives (Chromium caps it at 1.5 times that), so it never shows room for
 * a layer four times larger. Climbing back is the caller's decision
 * (`mayClimb`), taken after a hold, one layer at a time; a climb that
 * congests again comes back down here. With nothing known: the top layer.
 */
/** One layer as the chooser sees it, lowest first. */
export interface LayerInfo {
  /** Picture width, when known. */
  width: number | undefined;
  /** Incoming bits/s; 0 when the layer is not being sent. */
  bitrate: number;
}

/** What is known about the viewer. */
export interface ViewerWants {
  /** Device pixels across the picture the viewer shows. */
  renderWidth?: number;
  /** Its estimated bandwidth for this video, bits/s. */
  bandwidth?: number;
  /** The share of this video's packets it lost lately, from its receiver reports (0–1, LossMeter), or that were resent to it, whichever is more. */
  loss?: number;
  /** The share its receiver reports say it lost lately, resends left out (0–1), once they span a window: what its link dropped, not what came late. */
  dropped?: number;
  /** May it move above its current layer now (false during a hold after congestion)? Default true. */
  mayClimb?: boolean;
}

/** The current layer may use this share of the bandwidth before it is left for a lower one. */
export const STAY_HEADROOM = 0.95;
/** A picture within this share of the rendered width counts as wide enough. */
const WIDE_ENOUGH = 0.9;

/**
 * Orders layers lowest first: by width when every width is known, else by
 * bitrate when every layer sends, else as given (a device lists its layers
 * lowest first). Never mixes the two: a layer whose keyframe has not come
 * yet must not sort below one whose width is known.
 */
export function layerOrder(layers: readonly LayerInfo[]): number[] {
  const order = layers.map((_, i) => i);
  if (layers.every((l) => l.width !== undefined)) return order.sort((a, b) => layers[a].width! - layers[b].width! || a - b);
  if (layers.every((l) => l.bitrate > 0)) return order.sort((a, b) => layers[a].bitrate - layers[b].bitrate || a - b);
  return order;
}

/**
 * The layer for the viewer, an index into `layers` (lowest first), given the
 * one it has now (`current`, or -1). Layers not being sent are skipped; when
 * none is, the current one stays.
 */
export function chooseLayer(layers: readonly LayerInfo[], wants: ViewerWants, current: number): number {
  const active = layers.map((l, i) => ({ l, i })).filter((x) => x.l.bitrate > 0);
  if (active.length === 0) return current;
  let best = active[active.length - 1].i;
  // Size: the smallest active layer at least as wide as the picture shown.
  if (wants.renderWidth !== undefined && wants.renderWidth > 0) {
    const wide = active.find((x) => x.l.width !== undefined && x.l.width >= wants.renderWidth! * WIDE_ENOUGH);
    if (wide) best = wide.i;
  }
  if (current < 0) return best;
  // Bandwidth: congested when the current layer no longer fits; then the highest lower one that does.
  const bw = wants.bandwidth;
  const now = layers[current];
  if (bw !== undefined && bw > 0 && now && now.bitrate > bw * STAY_HEADROOM) {
    const fits = active.filter((x) => x.i < current && x.l.bitrate <= bw * STAY_HEADROOM);
    return Math.min(best, fits.length > 0 ? fits[fits.length - 1].i : active[0].i);
  }
  // Up only when allowed, and one active layer at a time.
  if (best > current) {
    if (wants.mayClimb === false) return current;
    const next = active.find((x) => x.i > current);
    return next ? Math.min(best, next.i) : current;
  }
  return best;
}
