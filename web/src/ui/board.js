// Whiteboard area: the tool bar and the board (background picture under the
// stroke canvas). Drawing needs caps.draw; clearing is for instructors.

import { h, icon, setText, show } from "./dom.js";
import { t } from "../i18n.js";
import { BoardCanvas, COLORS, PEN_WIDTHS, ERASER_WIDTH, visibleStrokes, lastStrokeBy } from "../whiteboard.js";

export function mountBoard(area, client, { confirmDialog }) {
  const { actions } = client;

  const toolBtn = (tool, ico) =>
    h("button", { class: "tool", type: "button", "data-tool": tool, "data-testid": `tool-${tool}`, i18nTitle: `board.${tool}`, i18nAria: `board.${tool}`, onclick: () => actions.setTools({ tool, width: tool === "eraser" ? ERASER_WIDTH : client.getState().tools.lastPenWidth || PEN_WIDTHS[1] }) }, icon(ico));
  const pen = toolBtn("pen", "pen");
  const eraser = toolBtn("eraser", "eraser");

  const swatches = COLORS.map((color) =>
    h("button", { class: "swatch", type: "button", "data-color": color, style: `--swatch:${color}`, "aria-label": color, onclick: () => actions.setTools({ tool: "pen", color, width: client.getState().tools.lastPenWidth || PEN_WIDTHS[1] }) }),
  );
  const widths = PEN_WIDTHS.map((w, i) =>
    h("button", { class: "width", type: "button", "data-width": w, i18nAria: `board.width${i}`, i18nTitle: `board.width${i}`, onclick: () => actions.setTools({ tool: "pen", width: w, lastPenWidth: w }) }, h("span", { class: "width-dot", style: `--w:${4 + i * 4}px` })),
  );

  const undo = h("button", { class: "tool", type: "button", "data-testid": "board-undo", i18nTitle: "board.undo", i18nAria: "board.undo", onclick: () => actions.undo() }, icon("undo"));
  const clear = h("button", { class: "tool", type: "button", "data-testid": "board-clear", i18nTitle: "board.clear", i18nAria: "board.clear" }, icon("trash"));
  clear.addEventListener("click", async () => {
    if (await confirmDialog({ titleKey: "board.clear_title", bodyKey: "board.clear_body", okKey: "board.clear", testid: "board-clear-confirm" })) actions.clearBoard();
  });

  const bgInput = h("input", { type: "file", accept: "image/*", hidden: true, "data-testid": "board-bg-input" });
  bgInput.addEventListener("change", () => {
    const file = bgInput.files && bgInput.files[0];
    bgInput.value = "";
    if (file) actions.setBackground(file);
  });
  const bgBtn = h("label", { class: "tool", i18nTitle: "board.background", i18nAria: "board.background", role: "button", tabindex: "0" }, icon("image"), bgInput);
  bgBtn.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && bgInput.click());
  const bgRemove = h("button", { class: "tool", type: "button", i18nTitle: "board.background_remove", i18nAria: "board.background_remove", onclick: () => actions.clearBackground() }, icon("close"));

  const sep = () => h("span", { class: "sep", "aria-hidden": "true" });
  const toolbar = h("div", { class: "board-toolbar", role: "toolbar" }, pen, eraser, sep(), ...swatches, sep(), ...widths, sep(), undo, bgBtn, bgRemove, clear);

  const bg = h("img", { class: "board-bg", alt: "", hidden: true, decoding: "async" });
  const canvas = h("canvas", { "data-testid": "board-canvas", class: "board-canvas" });
  const board = h("div", { class: "board" }, bg, canvas);
  const hint = h("p", { class: "board-hint", hidden: true });
  area.append(toolbar, h("div", { class: "board-frame" }, board), hint);

  const view = new BoardCanvas(canvas, { onStroke: (stroke) => actions.drawStroke(stroke) });

  return (s, prev) => {
    const canDraw = !!s.caps.draw && s.phase === "live";
    const instructor = s.me && s.me.role === "instructor";
    show(toolbar, canDraw);
    const tools = s.tools;
    view.setTool({ enabled: canDraw, tool: tools.tool, color: tools.color, width: tools.width });
    pen.setAttribute("aria-pressed", String(tools.tool === "pen"));
    eraser.setAttribute("aria-pressed", String(tools.tool === "eraser"));
    for (const sw of swatches) sw.setAttribute("aria-pressed", String(tools.tool === "pen" && tools.color === sw.dataset.color));
    for (const w of widths) w.setAttribute("aria-pressed", String(tools.tool === "pen" && Number(w.dataset.width) === tools.width));
    undo.disabled = !lastStrokeBy(s.board, s.me && s.me.id);
    // The server lets both sides of a one_to_one set the page; elsewhere the instructor.
    const ownsPage = instructor || (s.session && s.session.form === "one_to_one");
    show(clear, instructor);
    show(bgBtn, ownsPage);
    show(bgRemove, ownsPage && !!s.board.background);

    if (!prev || prev.board !== s.board) view.render(visibleStrokes(s.board));
    const url = s.board.background ? client.mediaUrl(s.board.background) : null;
    if ((bg.getAttribute("src") || null) !== url) {
      if (url) bg.src = url;
      else bg.removeAttribute("src");
    }
    show(bg, !!url);

    const learnerWithoutPen = s.phase === "live" && !s.caps.draw && !s.observer;
    show(hint, learnerWithoutPen);
    if (learnerWithoutPen) setText(hint, t("board.no_pen"));
  };
}
