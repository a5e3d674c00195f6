// The whiteboard: a pure model of the server's op log (what is visible) and
// a canvas view with pointer input (mouse, touch, pen).
//
// Coordinates are normalised to a 4:3 board (0..1 on both axes) so a phone
// and a laptop draw the same picture. A stroke's `width` is in units of a
// 1000-unit-wide board, so lines keep their weight on every screen.
//
// Board model (kept in client state):
//   {seq, background: url|upload id|null,
//    strokes: [{id, by, seq, tool, color, width, points}],  // confirmed by the server, in order
//    pending: [{id, by, tool, color, width, points}]}        // sent, not yet echoed

export const ASPECT = 4 / 3;
export const WIDTH_UNITS = 1000;
// The server's limits (BoardLimits, docs/protocol.md): at most 2000 points per stroke
// op (longer strokes are split below), 10 ops/s per person with bursts of 40 (one op
// per pen lift), and 1.5 MiB per page (`board_full` until the page is cleared).
export const MAX_POINTS = 2000;
export const COLORS = ["#1f2933", "#e03131", "#1c7ed6", "#2f9e44", "#f08c00"];
export const PEN_WIDTHS = [2, 4, 8];
export const ERASER_WIDTH = 28;

export function emptyBoard() {
  return { seq: 0, background: null, strokes: [], pending: [] };
}

function strokeOf(op, by, seq) {
  return {
    id: op.id,
    by: by ?? op.by ?? null,
    seq: seq ?? op.seq ?? 0,
    tool: op.tool === "eraser" ? "eraser" : "pen",
    color: op.color || COLORS[0],
    width: Number(op.width) || 2,
    points: Array.isArray(op.points) ? op.points : [],
  };
}

/** Replace the board with the server's `board_state`; our own pending strokes survive. */
export function applyBoardState(board, state) {
  const strokes = ((state && state.strokes) || []).map((s) => strokeOf(s));
  const ids = new Set(strokes.map((s) => s.id));
  return {
    seq: (state && state.seq) || 0,
    background: (state && state.background) || null,
    strokes,
    pending: (board ? board.pending : []).filter((p) => !ids.has(p.id)),
  };
}

/** Apply one broadcast `board` event {seq, ts, by, op}. Old or repeated seqs are ignored. */
export function applyBoardEvent(board, ev) {
  if (!ev || !ev.op || typeof ev.seq !== "number" || ev.seq <= board.seq) return board;
  const op = ev.op;
  let { strokes, pending, background } = board;
  switch (op.type) {
    case "stroke":
      strokes = strokes.filter((s) => s.id !== op.id).concat(strokeOf(op, ev.by, ev.seq));
      pending = pending.filter((p) => p.id !== op.id);
      break;
    case "undo":
      strokes = strokes.filter((s) => s.id !== op.id);
      pending = pending.filter((p) => p.id !== op.id);
      break;
    case "clear":
      // Our pending strokes reach the server after this clear, so they stay.
      strokes = [];
      break;
    case "background":
      background = op.url || op.image || null;
      break;
    default:
      break;
  }
  return { seq: ev.seq, background, strokes, pending };
}

export function addPending(board, stroke) {
  return { ...board, pending: board.pending.filter((p) => p.id !== stroke.id).concat(stroke) };
}

export function dropPending(board, id) {
  return { ...board, pending: board.pending.filter((p) => p.id !== id) };
}

/** What to draw, bottom to top. */
export function visibleStrokes(board) {
  return board.strokes.concat(board.pending);
}

/** The id of my newest confirmed stroke (what the undo button removes), or null. */
export function lastStrokeBy(board, me) {
  for (let i = board.strokes.length - 1; i >= 0; i -= 1) {
    if (board.strokes[i].by === me) return board.strokes[i].id;
  }
  return null;
}

/** Drop points closer than `minDist` (normalised) to the last kept one; keep the last point. */
export function simplify(points, minDist = 0.002) {
  if (points.length <= 2) return points.slice();
  const out = [points[0]];
  for (let i = 1; i < points.length - 1; i += 1) {
    const [x, y] = points[i];
    const [px, py] = out[out.length - 1];
    if (Math.hypot(x - px, y - py) >= minDist) out.push(points[i]);
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Split a long stroke into pieces the server accepts (≤ MAX_POINTS), overlapping by one point. */
export function splitPoints(points, max = MAX_POINTS) {
  if (points.length <= max) return [points];
  const out = [];
  for (let i = 0; i < points.length - 1; i += max - 1) out.push(points.slice(i, i + max));
  return out;
}

export function roundPoint(x, y) {
  const c = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  return [c(x), c(y)];
}

let counter = 0;
/** A stroke id matching [A-Za-z0-9_-]{1,40}, unique per tab. */
export function newStrokeId(rand = Math.random) {
  counter += 1;
  const r = Math.floor(rand() * 36 ** 6).toString(36).padStart(6, "0");
  return `s${Date.now().toString(36)}${r}${counter.toString(36)}`.slice(0, 40);
}

// ---- drawing ---------------------------------------------------------------

/** Draw one stroke on a 2D context sized w×h (device pixels). */
export function drawStroke(ctx, stroke, w, h) {
  const pts = stroke.points;
  if (!pts.length) return;
  const lw = Math.max(1, (stroke.width * w) / WIDTH_UNITS);
  ctx.save();
  ctx.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
  ctx.strokeStyle = stroke.color;
  ctx.fillStyle = stroke.color;
  ctx.lineWidth = lw;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (pts.length === 1) {
    ctx.beginPath();
    ctx.arc(pts[0][0] * w, pts[0][1] * h, lw / 2, 0, Math.PI * 2);
    ctx.fill();
  } else {
    ctx.beginPath();
    ctx.moveTo(pts[0][0] * w, pts[0][1] * h);
    // Quadratic curves through midpoints: smooth lines from sparse touch input.
    for (let i = 1; i < pts.length - 1; i += 1) {
      const mx = ((pts[i][0] + pts[i + 1][0]) / 2) * w;
      const my = ((pts[i][1] + pts[i + 1][1]) / 2) * h;
      ctx.quadraticCurveTo(pts[i][0] * w, pts[i][1] * h, mx, my);
    }
    const last = pts[pts.length - 1];
    ctx.lineTo(last[0] * w, last[1] * h);
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * The canvas view. `onStroke(stroke)` gets each finished stroke (without id/by).
 * The owner calls `render(strokes)` whenever the board changes and
 * `setTool({enabled, tool, color, width})`.
 */
export class BoardCanvas {
  constructor(canvas, { onStroke }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onStroke = onStroke;
    this.tool = { enabled: false, tool: "pen", color: COLORS[0], width: PEN_WIDTHS[1] };
    this.strokes = [];
    this.active = null;
    this.resize = this.resize.bind(this);
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver(this.resize);
      this.observer.observe(canvas);
    }
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    this.resize();
  }

  setTool(tool) {
    this.tool = { ...this.tool, ...tool };
    this.canvas.classList.toggle("can-draw", !!this.tool.enabled);
    if (!this.tool.enabled) this.active = null;
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(globalThis.devicePixelRatio || 1, 2);
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.render(this.strokes);
    }
  }

  render(strokes) {
    this.strokes = strokes;
    const { width: w, height: h } = this.canvas;
    this.ctx.clearRect(0, 0, w, h);
    for (const s of strokes) drawStroke(this.ctx, s, w, h);
    if (this.active) drawStroke(this.ctx, this.current(), w, h);
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return roundPoint((e.clientX - rect.left) / rect.width, (e.clientY - rect.top) / rect.height);
  }

  current() {
    const { tool, color, width } = this.tool;
    return { tool, color, width, points: this.active.points };
  }

  down(e) {
    if (!this.tool.enabled || this.active) return;
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.active = { pointer: e.pointerId, points: [this.point(e)] };
    const { width: w, height: h } = this.canvas;
    drawStroke(this.ctx, this.current(), w, h);
  }

  move(e) {
    if (!this.active || e.pointerId !== this.active.pointer) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [e];
    const pts = this.active.points;
    const from = pts.length;
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      const [lx, ly] = pts[pts.length - 1];
      if (Math.hypot(p[0] - lx, p[1] - ly) >= 0.0015) pts.push(p);
    }
    if (pts.length === from) return;
    // Draw only the new segment; the full smooth stroke comes with the next render.
    const { width: w, height: h } = this.canvas;
    const seg = { ...this.current(), points: pts.slice(Math.max(0, from - 1)) };
    drawStroke(this.ctx, seg, w, h);
  }

  up(e) {
    if (!this.active || e.pointerId !== this.active.pointer) return;
    const stroke = this.current();
    this.active = null;
    const points = simplify(stroke.points);
    for (const part of splitPoints(points)) this.onStroke({ ...stroke, points: part });
  }
}
