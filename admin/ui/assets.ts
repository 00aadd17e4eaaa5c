/**
 * The console's only static assets, served by the Worker itself (no CDN; the CSP allows 'self'
 * only). The script is progressive enhancement: every page works without it.
 */

/** Bump when either asset changes: their URLs carry it, so they can be cached for a year. */
export const ASSET_VERSION = "3";

export const CONSOLE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --panel: #ffffff; --text: #1b1c1f; --muted: #55596a; --line: #d9dbe1;
  --accent: #2f4fd8; --accent-text: #ffffff; --accent-soft: #e8ecfd;
  --on: #0f6d3a; --on-bg: #dff3e7; --off: #8a2b12; --off-bg: #fbe5dd; --absent: #55596a;
  --warn-bg: #fff4d6; --warn: #6b4a00; --error-bg: #fde7e7; --error: #9b1c1c; --ok-bg: #e3f5e9; --ok: #135c30;
  --code-bg: #f0f1f4; --focus: #2f4fd8;
  --radius: 8px; --font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --mono: ui-monospace, "SF Mono", Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121317; --panel: #1b1d23; --text: #e9eaee; --muted: #a6aab8; --line: #343743;
    --accent: #8ea2ff; --accent-text: #10131c; --accent-soft: #252b45;
    --on: #7fe0a7; --on-bg: #183524; --off: #ffab91; --off-bg: #3d231b; --absent: #a6aab8;
    --warn-bg: #3a2f12; --warn: #ffd980; --error-bg: #3d1b1b; --error: #ffb4b4; --ok-bg: #173323; --ok: #9be7b8;
    --code-bg: #23262e; --focus: #8ea2ff;
  }
}
* { box-sizing: border-box; }
html { font-family: var(--font); font-size: 15px; line-height: 1.45; background: var(--bg); color: var(--text); }
body { margin: 0; }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
code, pre, textarea.code { font-family: var(--mono); font-size: 0.9em; }
code { background: var(--code-bg); padding: 0.05em 0.3em; border-radius: 4px; }
pre { background: var(--code-bg); padding: 0.75rem; border-radius: var(--radius); overflow-x: auto; margin: 0; }
h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
h3 { font-size: 1rem; margin: 0 0 0.5rem; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: 0.5rem 1rem; z-index: 10; }
.skip:focus { left: 0.5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

header.top { background: var(--panel); border-bottom: 1px solid var(--line); }
.top-inner { max-width: 1280px; margin: 0 auto; padding: 0.6rem 1rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
.brand { font-weight: 700; font-size: 1.05rem; color: var(--text); text-decoration: none; display: flex; align-items: center; gap: 0.4rem; }
.brand-mark { width: 1.1rem; height: 1.1rem; border-radius: 4px; background: var(--accent); display: inline-block; }
nav.main ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem; margin: 0; padding: 0; }
nav.main a { display: block; padding: 0.35rem 0.7rem; border-radius: 6px; color: var(--text); text-decoration: none; }
nav.main a[aria-current="page"] { background: var(--accent-soft); color: var(--accent); font-weight: 600; }
nav.main a:hover { background: var(--accent-soft); }
.top-tools { margin-left: auto; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.top-tools form { display: flex; gap: 0.35rem; align-items: center; margin: 0; }
.who { color: var(--muted); font-size: 0.85rem; }

main { max-width: 1280px; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.page-head { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: flex-end; justify-content: space-between; margin-bottom: 1rem; }
.page-head p { margin: 0; color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem; margin-bottom: 1rem; }
.grid-2 { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; align-items: start; }
@media (max-width: 900px) { .grid-2 { grid-template-columns: minmax(0, 1fr); } }

label { font-weight: 600; display: block; margin-bottom: 0.25rem; }
.hint { color: var(--muted); font-size: 0.85rem; font-weight: 400; }
input, select, textarea, button { font: inherit; color: inherit; }
input[type=text], input[type=search], input[type=password], input[type=datetime-local], input[type=number], input[type=url], input[type=date], select, textarea {
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 0.45rem 0.6rem; min-height: 2.4rem; max-width: 100%;
}
textarea { width: 100%; resize: vertical; }
textarea.code { min-height: 16rem; tab-size: 2; }
#context { min-height: 7rem; }
[aria-invalid="true"] { border-color: var(--error); box-shadow: 0 0 0 1px var(--error); }
.field { margin-bottom: 0.9rem; }
.row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: flex-end; }
.row .field { margin-bottom: 0; }
button, .button { display: inline-flex; align-items: center; justify-content: center; gap: 0.35rem; min-height: 2.4rem; padding: 0.4rem 0.9rem;
  border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--text); cursor: pointer; text-decoration: none; font-weight: 600; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
button.danger { background: var(--off-bg); border-color: var(--off); color: var(--off); }
button:hover, .button:hover { filter: brightness(0.96); }
.small { font-size: 0.85rem; min-height: 2rem; padding: 0.2rem 0.6rem; }

.notice { border-radius: var(--radius); padding: 0.75rem 1rem; margin-bottom: 1rem; border: 1px solid transparent; }
.notice.ok { background: var(--ok-bg); color: var(--ok); }
.notice.error { background: var(--error-bg); color: var(--error); }
.notice.warn { background: var(--warn-bg); color: var(--warn); }
.notice p { margin: 0.25rem 0; }
.field-error { color: var(--error); font-size: 0.9rem; margin: 0.35rem 0 0; }
.field-error ul { margin: 0.25rem 0 0; padding-left: 1.2rem; }

table { width: 100%; border-collapse: collapse; background: var(--panel); }
th, td { text-align: left; padding: 0.55rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); font-weight: 600; }
tr:last-child td, tr:last-child th { border-bottom: none; }
tbody th { text-transform: none; letter-spacing: 0; font-size: 1rem; color: var(--text); }
.table-wrap { border: 1px solid var(--line); border-radius: var(--radius); overflow: hidden; }
.flag-key { font-family: var(--mono); font-weight: 600; word-break: break-all; }
.desc { color: var(--muted); font-size: 0.9rem; margin-top: 0.15rem; overflow-wrap: anywhere; }
.tag { display: inline-block; font-size: 0.75rem; padding: 0.05rem 0.45rem; border-radius: 999px; background: var(--accent-soft); color: var(--text); margin: 0.2rem 0.2rem 0 0; }
.state { display: inline-flex; align-items: center; gap: 0.3rem; font-size: 0.8rem; font-weight: 700; padding: 0.2rem 0.55rem; border-radius: 999px; text-decoration: none; white-space: nowrap; min-height: 1.9rem; }
.state::before { content: ""; width: 0.55rem; height: 0.55rem; border-radius: 50%; background: currentColor; }
.state.on { background: var(--on-bg); color: var(--on); }
.state.off { background: var(--off-bg); color: var(--off); }
.state.absent { color: var(--absent); border: 1px dashed var(--line); }
.state.absent::before { background: transparent; }
a.state:hover { box-shadow: 0 0 0 2px currentColor; }
.env-selected { background: var(--accent-soft); }
.meta { color: var(--muted); font-size: 0.85rem; }
.pager { display: flex; gap: 0.75rem; align-items: center; justify-content: space-between; margin-top: 0.75rem; flex-wrap: wrap; }
.filters { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: flex-end; margin-bottom: 1rem; }
.filters .grow { flex: 1 1 16rem; }
.filters .grow input { width: 100%; }
.tabs { display: flex; flex-wrap: wrap; gap: 0.25rem; margin-bottom: 0.75rem; border-bottom: 1px solid var(--line); }
.tabs a { padding: 0.45rem 0.8rem; text-decoration: none; color: var(--text); border-bottom: 3px solid transparent; }
.tabs a[aria-current="page"] { border-bottom-color: var(--accent); font-weight: 700; }
.diff { list-style: none; margin: 0.35rem 0 0; padding: 0; font-family: var(--mono); font-size: 0.85rem; }
.diff li { padding: 0.15rem 0; overflow-wrap: anywhere; }
.diff del { background: var(--off-bg); color: var(--off); text-decoration: line-through; padding: 0 0.2rem; border-radius: 3px; }
.diff .added { color: var(--on); font-weight: 600; }
.diff .removed { color: var(--off); font-weight: 600; }
.diff ins { background: var(--on-bg); color: var(--on); text-decoration: none; padding: 0 0.2rem; border-radius: 3px; }
.audit-entry { border-bottom: 1px solid var(--line); padding: 0.75rem 0; }
.audit-entry:last-child { border-bottom: none; }
.audit-head { display: flex; flex-wrap: wrap; gap: 0.25rem 0.9rem; align-items: baseline; }
.reason { margin: 0.3rem 0 0; }
.secret { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.secret input { flex: 1 1 20rem; font-family: var(--mono); }
dialog { border: 1px solid var(--line); border-radius: var(--radius); background: var(--panel); color: var(--text); padding: 1.25rem; width: min(32rem, calc(100vw - 2rem)); }
dialog::backdrop { background: rgb(0 0 0 / 0.5); }
.actions { display: flex; gap: 0.5rem; justify-content: flex-end; flex-wrap: wrap; margin-top: 1rem; }
.signin { max-width: 26rem; margin: 3rem auto; }
.signin input { width: 100%; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }

/* governance and progressive-delivery screens */
fieldset { border: 1px solid var(--line); border-radius: var(--radius); padding: 0.6rem 0.9rem 0.8rem; margin: 0 0 0.9rem; min-width: 0; }
legend { font-weight: 600; padding: 0 0.3rem; }
label.check, .field.check label { display: inline-flex; align-items: center; gap: 0.4rem; font-weight: 400; margin: 0.2rem 1rem 0.2rem 0; min-height: 2rem; }
.field.check { display: flex; align-items: center; align-self: center; }
input[type=checkbox], input[type=radio] { width: 1.1rem; height: 1.1rem; accent-color: var(--accent); }
.checks { display: flex; flex-wrap: wrap; gap: 0 0.25rem; }
form.inline { display: inline-flex; gap: 0.35rem; align-items: center; margin: 0; flex-wrap: wrap; }
.row.tight { gap: 0.4rem; align-items: center; }
.actions.start { justify-content: flex-start; }
.narrow { max-width: 46rem; }
textarea.code.short { min-height: 7rem; }
form:not(.row) > .field > input[type=text], form:not(.row) > .field > input[type=url] { width: min(100%, 40rem); }
.arrow { align-self: center; font-size: 1.3rem; color: var(--muted); }
.url { font-family: var(--mono); overflow-wrap: anywhere; }
h1.url { font-size: 1.15rem; }
.plain-list { list-style: none; margin: 0; padding: 0; }
.plain-list li { padding: 0.55rem 0; border-bottom: 1px solid var(--line); }
.plain-list li:last-child { border-bottom: none; }
.badge { display: inline-block; font-size: 0.75rem; font-weight: 700; padding: 0.1rem 0.5rem; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); margin-left: 0.3rem; white-space: nowrap; }
.badge.added, .badge.ramp-running, .badge.ramp-completed { background: var(--on-bg); color: var(--on); border-color: transparent; }
.badge.removed, .badge.ramp-rolled-back { background: var(--off-bg); color: var(--off); border-color: transparent; }
.badge.changed, .badge.ramp-paused { background: var(--warn-bg); color: var(--warn); border-color: transparent; }
.stale { display: inline-block; margin-left: 0.4rem; font-size: 0.72rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; padding: 0.05rem 0.45rem; border-radius: 4px; background: var(--warn-bg); color: var(--warn); cursor: help; }
.env-cards { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-bottom: 1rem; }
.env-card { margin: 0; display: flex; flex-direction: column; min-width: 9rem; }
.env-diff { list-style: none; margin: 0 0 0.75rem; padding: 0; }
.env-diff > li { border-bottom: 1px solid var(--line); padding: 0.6rem 0; }
.env-diff > li:last-child { border-bottom: none; }
.env-diff .meta { margin: 0.2rem 0 0; }
details summary { cursor: pointer; color: var(--accent); margin-top: 0.5rem; }
.bar { position: relative; height: 0.9rem; border-radius: 999px; background: var(--code-bg); border: 1px solid var(--line); overflow: hidden; margin: 0.35rem 0 0.6rem; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 999px; }
.bar .fill.bad { background: var(--error); }
.bar .mark { position: absolute; top: -2px; bottom: -2px; width: 3px; margin-left: -1px; background: var(--text); }
.bars { list-style: none; margin: 0 0 0.5rem; padding: 0; }
.bars li { margin-bottom: 0.6rem; }
.bar-label { display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; align-items: baseline; }
.timeline { list-style: none; margin: 0.75rem 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0; }
.timeline .step { position: relative; flex: 1 1 6.5rem; padding: 1.4rem 0.4rem 0.3rem 0; display: flex; flex-direction: column; gap: 0.1rem; }
.timeline .step::before { content: ""; position: absolute; top: 0.55rem; left: 0; right: 0; height: 3px; background: var(--line); }
.timeline .step.done::before, .timeline .step.current::before { background: var(--accent); }
.timeline .dot { position: absolute; top: 0.2rem; left: 0; width: 0.95rem; height: 0.95rem; border-radius: 50%; background: var(--panel); border: 3px solid var(--line); }
.timeline .done .dot { background: var(--accent); border-color: var(--accent); }
.timeline .current .dot { background: var(--panel); border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.timeline .next .dot { border-color: var(--accent); border-style: dashed; }
.step-state { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); font-weight: 700; }
.timeline .current .step-state { color: var(--accent); }
.ramp-actions { margin: 0.5rem 0 1rem; }
table.steps { width: auto; }
table.steps td, table.steps th { padding: 0.25rem 0.4rem; border: none; }
table.steps input { width: 6.5rem; }
@media (max-width: 700px) {
  .timeline { flex-direction: column; }
  .timeline .step { padding: 0 0 0.7rem 1.6rem; flex: none; }
  .timeline .step::before { top: 0; bottom: 0; left: 0.42rem; right: auto; width: 3px; height: auto; }
  .timeline .dot { top: 0.15rem; }
  .arrow { display: none; }
}
.w-0 { width: 0%; } .w-1 { width: 1%; } .w-2 { width: 2%; } .w-3 { width: 3%; } .w-4 { width: 4%; } .w-5 { width: 5%; } .w-6 { width: 6%; } .w-7 { width: 7%; } .w-8 { width: 8%; } .w-9 { width: 9%; } .w-10 { width: 10%; } .w-11 { width: 11%; } .w-12 { width: 12%; } .w-13 { width: 13%; } .w-14 { width: 14%; } .w-15 { width: 15%; } .w-16 { width: 16%; } .w-17 { width: 17%; } .w-18 { width: 18%; } .w-19 { width: 19%; } .w-20 { width: 20%; } .w-21 { width: 21%; } .w-22 { width: 22%; } .w-23 { width: 23%; } .w-24 { width: 24%; } .w-25 { width: 25%; } .w-26 { width: 26%; } .w-27 { width: 27%; } .w-28 { width: 28%; } .w-29 { width: 29%; } .w-30 { width: 30%; } .w-31 { width: 31%; } .w-32 { width: 32%; } .w-33 { width: 33%; } .w-34 { width: 34%; } .w-35 { width: 35%; } .w-36 { width: 36%; } .w-37 { width: 37%; } .w-38 { width: 38%; } .w-39 { width: 39%; } .w-40 { width: 40%; } .w-41 { width: 41%; } .w-42 { width: 42%; } .w-43 { width: 43%; } .w-44 { width: 44%; } .w-45 { width: 45%; } .w-46 { width: 46%; } .w-47 { width: 47%; } .w-48 { width: 48%; } .w-49 { width: 49%; } .w-50 { width: 50%; } .w-51 { width: 51%; } .w-52 { width: 52%; } .w-53 { width: 53%; } .w-54 { width: 54%; } .w-55 { width: 55%; } .w-56 { width: 56%; } .w-57 { width: 57%; } .w-58 { width: 58%; } .w-59 { width: 59%; } .w-60 { width: 60%; } .w-61 { width: 61%; } .w-62 { width: 62%; } .w-63 { width: 63%; } .w-64 { width: 64%; } .w-65 { width: 65%; } .w-66 { width: 66%; } .w-67 { width: 67%; } .w-68 { width: 68%; } .w-69 { width: 69%; } .w-70 { width: 70%; } .w-71 { width: 71%; } .w-72 { width: 72%; } .w-73 { width: 73%; } .w-74 { width: 74%; } .w-75 { width: 75%; } .w-76 { width: 76%; } .w-77 { width: 77%; } .w-78 { width: 78%; } .w-79 { width: 79%; } .w-80 { width: 80%; } .w-81 { width: 81%; } .w-82 { width: 82%; } .w-83 { width: 83%; } .w-84 { width: 84%; } .w-85 { width: 85%; } .w-86 { width: 86%; } .w-87 { width: 87%; } .w-88 { width: 88%; } .w-89 { width: 89%; } .w-90 { width: 90%; } .w-91 { width: 91%; } .w-92 { width: 92%; } .w-93 { width: 93%; } .w-94 { width: 94%; } .w-95 { width: 95%; } .w-96 { width: 96%; } .w-97 { width: 97%; } .w-98 { width: 98%; } .w-99 { width: 99%; } .w-100 { width: 100%; } 
.at-0 { left: 0%; } .at-1 { left: 1%; } .at-2 { left: 2%; } .at-3 { left: 3%; } .at-4 { left: 4%; } .at-5 { left: 5%; } .at-6 { left: 6%; } .at-7 { left: 7%; } .at-8 { left: 8%; } .at-9 { left: 9%; } .at-10 { left: 10%; } .at-11 { left: 11%; } .at-12 { left: 12%; } .at-13 { left: 13%; } .at-14 { left: 14%; } .at-15 { left: 15%; } .at-16 { left: 16%; } .at-17 { left: 17%; } .at-18 { left: 18%; } .at-19 { left: 19%; } .at-20 { left: 20%; } .at-21 { left: 21%; } .at-22 { left: 22%; } .at-23 { left: 23%; } .at-24 { left: 24%; } .at-25 { left: 25%; } .at-26 { left: 26%; } .at-27 { left: 27%; } .at-28 { left: 28%; } .at-29 { left: 29%; } .at-30 { left: 30%; } .at-31 { left: 31%; } .at-32 { left: 32%; } .at-33 { left: 33%; } .at-34 { left: 34%; } .at-35 { left: 35%; } .at-36 { left: 36%; } .at-37 { left: 37%; } .at-38 { left: 38%; } .at-39 { left: 39%; } .at-40 { left: 40%; } .at-41 { left: 41%; } .at-42 { left: 42%; } .at-43 { left: 43%; } .at-44 { left: 44%; } .at-45 { left: 45%; } .at-46 { left: 46%; } .at-47 { left: 47%; } .at-48 { left: 48%; } .at-49 { left: 49%; } .at-50 { left: 50%; } .at-51 { left: 51%; } .at-52 { left: 52%; } .at-53 { left: 53%; } .at-54 { left: 54%; } .at-55 { left: 55%; } .at-56 { left: 56%; } .at-57 { left: 57%; } .at-58 { left: 58%; } .at-59 { left: 59%; } .at-60 { left: 60%; } .at-61 { left: 61%; } .at-62 { left: 62%; } .at-63 { left: 63%; } .at-64 { left: 64%; } .at-65 { left: 65%; } .at-66 { left: 66%; } .at-67 { left: 67%; } .at-68 { left: 68%; } .at-69 { left: 69%; } .at-70 { left: 70%; } .at-71 { left: 71%; } .at-72 { left: 72%; } .at-73 { left: 73%; } .at-74 { left: 74%; } .at-75 { left: 75%; } .at-76 { left: 76%; } .at-77 { left: 77%; } .at-78 { left: 78%; } .at-79 { left: 79%; } .at-80 { left: 80%; } .at-81 { left: 81%; } .at-82 { left: 82%; } .at-83 { left: 83%; } .at-84 { left: 84%; } .at-85 { left: 85%; } .at-86 { left: 86%; } .at-87 { left: 87%; } .at-88 { left: 88%; } .at-89 { left: 89%; } .at-90 { left: 90%; } .at-91 { left: 91%; } .at-92 { left: 92%; } .at-93 { left: 93%; } .at-94 { left: 94%; } .at-95 { left: 95%; } .at-96 { left: 96%; } .at-97 { left: 97%; } .at-98 { left: 98%; } .at-99 { left: 99%; } .at-100 { left: 100%; } 

@media (max-width: 700px) {
  html { font-size: 16px; }
  .top-tools { margin-left: 0; width: 100%; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards tr { border-bottom: 1px solid var(--line); padding: 0.5rem 0; }
  table.cards td { border: none; padding: 0.25rem 0.75rem; }
  table.cards td[data-label]::before { content: attr(data-label); display: inline-block; min-width: 7rem; color: var(--muted); font-size: 0.8rem; font-weight: 600; }
}
`;

/** Progressive enhancement: toggle confirmation in a dialog, live search, copy buttons, confirmations. */
export const CONSOLE_JS = `"use strict";
(function () {
  var $ = function (selector, root) { return (root || document).querySelector(selector); };
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });

  // Kill switch: confirm in place (the link's own page is the no-script confirmation).
  var dialog = $("#toggle-dialog");
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-toggle]");
    if (link && dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      var form = $("form", dialog);
      form.action = link.dataset.action;
      form.elements.namedItem("env").value = link.dataset.env;
      form.elements.namedItem("state").value = link.dataset.next;
      form.elements.namedItem("version").value = link.dataset.version;
      form.elements.namedItem("return").value = location.pathname + location.search;
      $("[data-verb]", dialog).textContent = link.dataset.next === "ENABLED" ? "Turn on" : "Turn off";
      $("[data-flag]", dialog).textContent = link.dataset.flag;
      $("[data-env]", dialog).textContent = link.dataset.env;
      $("[data-killed]", dialog).textContent = link.dataset.killed || "";
      $("[data-submit]", dialog).textContent = (link.dataset.next === "ENABLED" ? "Turn on in " : "Turn off in ") + link.dataset.env;
      form.elements.namedItem("reason").value = "";
      dialog.showModal();
      form.elements.namedItem("reason").focus();
      return;
    }
    var close = event.target.closest && event.target.closest("[data-close]");
    if (close && dialog) { event.preventDefault(); dialog.close(); return; }
    var copy = event.target.closest && event.target.closest("button[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.dataset.copy);
      navigator.clipboard.writeText(input.value).then(function () {
        copy.textContent = "Copied";
      }, function () { input.select(); copy.textContent = "Press Ctrl+C to copy"; });
    }
  });

  // Destructive forms ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Selects that switch the view submit themselves.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  // Live filtering: the server renders the results; only the results region is swapped.
  var filters = $("form[data-live]");
  if (filters) {
    var timer = 0, pending = null;
    var refresh = function () {
      var url = new URL(filters.action, location.href);
      url.search = new URLSearchParams(new FormData(filters)).toString();
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(url, { credentials: "same-origin", signal: pending.signal }).then(function (response) {
        return response.text();
      }).then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        var current = document.getElementById("results");
        if (next && current) current.replaceWith(next);
        history.replaceState(null, "", url);
      }).catch(function () {});
    };
    filters.addEventListener("input", function (event) {
      if (event.target.tagName === "SELECT") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
    filters.addEventListener("change", function (event) { if (event.target.tagName === "SELECT") refresh(); });
    filters.addEventListener("submit", function (event) { event.preventDefault(); refresh(); });
  }
})();
`;
