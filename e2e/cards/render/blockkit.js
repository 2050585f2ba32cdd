// An APPROXIMATION of how Slack draws Block Kit, for the documentation
// pictures of docs/img (render.mjs) only. It is NOT Slack's renderer and tests
// nothing about what Slack accepts: Slack has no offline renderer, so this
// draws the block types and elements our goldens (cards/slack/testdata) use,
// in Slack's light look, and throws on anything else so a new block type is
// not silently left out of a picture.
//
// mrkdwn is handled minimally: *bold*, _italic_, ~strike~, `code`, <url|text>
// links, <!date^…|fallback> dates (UTC, the page's locale), :emoji: shortcodes
// from a small table, the three entities Slack escapes (&amp; &lt; &gt;) and
// newlines.
(function () {
  "use strict";

  const EMOJI = {
    warning: "\u26A0\uFE0F",
    white_check_mark: "\u2705",
    x: "\u274C",
    information_source: "\u2139\uFE0F",
    mag: "\uD83D\uDD0D",
    bell: "\uD83D\uDD14",
    no_entry: "\u26D4",
    hourglass_flowing_sand: "\u23F3",
  };

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function unescapeSlack(s) {
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function emoji(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => (EMOJI[name] ? `<span class="emoji">${EMOJI[name]}</span>` : m));
  }

  let locale = "en";

  // Slack's <!date^ts^format|fallback>, in UTC (deterministic pictures) rather than the reader's zone.
  function slackDate(ts, format) {
    const d = new Date(Number(ts) * 1000);
    const f = (o) => new Intl.DateTimeFormat(locale, Object.assign({ timeZone: "UTC" }, o)).format(d);
    const tokens = {
      date_num: () => d.toISOString().slice(0, 10),
      date: () => f({ year: "numeric", month: "long", day: "numeric" }),
      date_short: () => f({ year: "numeric", month: "short", day: "numeric" }),
      date_long: () => f({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
      time: () => f({ hour: "numeric", minute: "2-digit" }),
      time_secs: () => f({ hour: "numeric", minute: "2-digit", second: "2-digit" }),
    };
    tokens.date_pretty = tokens.date;
    tokens.date_short_pretty = tokens.date_short;
    tokens.date_long_pretty = tokens.date_long;
    return format.replace(/\{([a-z_]+)\}/g, (m, t) => (tokens[t] ? tokens[t]() : m));
  }

  // Inline styles of a run of plain (already unescaped) text, HTML out.
  function inline(text) {
    let h = esc(text);
    h = h.replace(/`([^`\n]+)`/g, "<code>$1</code>");
    h = h.replace(/(^|[\s(~_>])\*(?=\S)([^*\n]*?\S)\*(?=$|[\s).,!?:;~_<])/g, "$1<b>$2</b>");
    h = h.replace(/(^|[\s(~*>])_(?=\S)([^_\n]*?\S)_(?=$|[\s).,!?:;~*<])/g, "$1<i>$2</i>");
    h = h.replace(/(^|[\s(*_>])~(?=\S)([^~\n]*?\S)~(?=$|[\s).,!?:;*_<])/g, "$1<s>$2</s>");
    return emoji(h);
  }

  function mrkdwn(text) {
    // Split on Slack's control sequences <…> first: their content is not styled.
    let html = "";
    let last = 0;
    const re = /<([^<>]+)>/g;
    let m;
    const runs = [];
    while ((m = re.exec(text))) {
      runs.push({ plain: text.slice(last, m.index) });
      runs.push({ ctrl: m[1] });
      last = re.lastIndex;
    }
    runs.push({ plain: text.slice(last) });
    // Styles may span a link (*<url|x>*): style the whole line with placeholders.
    const holes = [];
    let joined = "";
    for (const r of runs) {
      if (r.plain !== undefined) {
        joined += unescapeSlack(r.plain);
        continue;
      }
      const [target, label] = splitPipe(r.ctrl);
      let out;
      if (target.startsWith("!date^")) {
        const parts = target.split("^");
        out = esc(slackDate(parts[1], unescapeSlack(parts[2] || "{date_num}")));
      } else if (target.startsWith("@") || target.startsWith("#")) {
        out = `<span class="mention">${esc(target[0] + unescapeSlack(label || target.slice(1)))}</span>`;
      } else if (target.startsWith("!")) {
        out = `<span class="mention">@${esc(unescapeSlack(label || target.slice(1)))}</span>`;
      } else {
        out = `<a href="#">${esc(unescapeSlack(label || target))}</a>`;
      }
      holes.push(out);
      joined += `\u0000${holes.length - 1}\u0000`;
    }
    html = joined
      .split("\n")
      .map(inline)
      .join("<br>");
    return html.replace(/\u0000(\d+)\u0000/g, (m2, i) => holes[Number(i)]);
  }

  function splitPipe(s) {
    const i = s.indexOf("|");
    return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
  }

  function text(obj) {
    if (!obj) return "";
    if (obj.type === "mrkdwn") return mrkdwn(obj.text);
    if (obj.type === "plain_text") {
      const h = esc(obj.text).replace(/\n/g, "<br>");
      return obj.emoji === false ? h : emoji(h);
    }
    throw new Error(`text object type ${obj.type}`);
  }

  function el(tag, cls, html) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (html !== undefined) e.innerHTML = html;
    return e;
  }

  function button(b) {
    const e = el("span", "btn" + (b.style ? " btn-" + b.style : ""), text(b.text));
    if (b.url) e.title = b.url;
    return e;
  }

  const CARET = '<svg class="caret" viewBox="0 0 20 20" width="16" height="16"><path d="M5.7 7.7a1 1 0 0 1 1.4 0L10 10.6l2.9-2.9a1 1 0 1 1 1.4 1.4l-3.6 3.6a1 1 0 0 1-1.4 0L5.7 9.1a1 1 0 0 1 0-1.4z" fill="currentColor"/></svg>';
  const CALENDAR = '<svg class="icon" viewBox="0 0 20 20" width="18" height="18"><path d="M6 2a1 1 0 0 1 1 1v1h6V3a1 1 0 1 1 2 0v1h1a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h1V3a1 1 0 0 1 1-1zM4 8v8h12V8H4z" fill="currentColor"/></svg>';
  const CLOCK = '<svg class="icon" viewBox="0 0 20 20" width="18" height="18"><path d="M10 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12zm0 2a1 1 0 0 1 1 1v2.6l1.7 1.7a1 1 0 0 1-1.4 1.4l-2-2A1 1 0 0 1 9 10V7a1 1 0 0 1 1-1z" fill="currentColor"/></svg>';

  function field(valueHtml, placeholderHtml, opts) {
    opts = opts || {};
    const e = el("div", "field" + (opts.multiline ? " multiline" : ""));
    if (opts.icon) e.appendChild(el("span", "lead", opts.icon));
    e.appendChild(el("span", valueHtml ? "value" : "value placeholder", valueHtml || placeholderHtml || ""));
    if (opts.caret) e.appendChild(el("span", "trail", CARET));
    return e;
  }

  function dateText(iso) {
    const [y, mo, d] = iso.split("-").map(Number);
    return new Intl.DateTimeFormat(locale, { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" }).format(
      new Date(Date.UTC(y, mo - 1, d)),
    );
  }

  function element(x) {
    switch (x.type) {
      case "button":
        return button(x);
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input":
        return field(x.initial_value ? esc(x.initial_value) : "", text(x.placeholder), { multiline: x.multiline });
      case "static_select":
      case "external_select":
        return field(x.initial_option ? text(x.initial_option.text) : "", text(x.placeholder) || (locale === "fr" ? "Choisir une option" : "Select an option"), { caret: true });
      case "datepicker":
        return field(x.initial_date ? esc(dateText(x.initial_date)) : "", text(x.placeholder) || (locale === "fr" ? "Choisir une date" : "Select a date"), { icon: CALENDAR, caret: true });
      case "timepicker":
        return field(x.initial_time ? esc(x.initial_time) : "", text(x.placeholder), { icon: CLOCK, caret: true });
      case "datetimepicker": {
        const row = el("div", "row");
        const d = x.initial_date_time ? new Date(x.initial_date_time * 1000) : null;
        row.appendChild(field(d ? esc(dateText(d.toISOString().slice(0, 10))) : "", "", { icon: CALENDAR, caret: true }));
        const t = d ? new Intl.DateTimeFormat(locale, { timeZone: "UTC", hour: "numeric", minute: "2-digit" }).format(d) : "";
        row.appendChild(field(esc(t), "", { icon: CLOCK, caret: true }));
        return row;
      }
      case "checkboxes":
      case "radio_buttons": {
        const box = el("div", "choices");
        const on = new Set((x.initial_options || (x.initial_option ? [x.initial_option] : [])).map((o) => o.value));
        for (const o of x.options) {
          const row = el("label", "choice");
          row.appendChild(el("span", (x.type === "checkboxes" ? "check" : "radio") + (on.has(o.value) ? " on" : "")));
          const t = el("span", "choice-text", text(o.text));
          if (o.description) t.appendChild(el("div", "choice-desc", text(o.description)));
          row.appendChild(t);
          box.appendChild(row);
        }
        return box;
      }
      default:
        throw new Error(`blockkit.js: element type ${x.type} is not drawn`);
    }
  }

  function block(b) {
    switch (b.type) {
      case "header":
        return el("div", "b-header", text(b.text));
      case "divider":
        return el("hr", "b-divider");
      case "context": {
        const e = el("div", "b-context");
        for (const x of b.elements) {
          if (x.type === "image") throw new Error("blockkit.js: context images are not drawn");
          e.appendChild(el("span", "ctx", text(x)));
        }
        return e;
      }
      case "actions": {
        const e = el("div", "b-actions");
        for (const x of b.elements) e.appendChild(element(x));
        return e;
      }
      case "section": {
        const e = el("div", "b-section");
        const main = el("div", "main");
        if (b.text) main.appendChild(el("div", "text", text(b.text)));
        if (b.fields) {
          const g = el("div", "fields");
          for (const f of b.fields) g.appendChild(el("div", "fld", text(f)));
          main.appendChild(g);
        }
        e.appendChild(main);
        if (b.accessory) {
          const a = el("div", "accessory");
          a.appendChild(element(b.accessory));
          e.appendChild(a);
        }
        return e;
      }
      case "input": {
        const e = el("div", "b-input");
        const label = el("div", "label", text(b.label));
        if (b.optional) label.appendChild(el("span", "optional", locale === "fr" ? " (facultatif)" : " (optional)"));
        e.appendChild(label);
        e.appendChild(element(b.element));
        if (b.hint) e.appendChild(el("div", "hint", text(b.hint)));
        return e;
      }
      default:
        throw new Error(`blockkit.js: block type ${b.type} is not drawn`);
    }
  }

  function blocks(list) {
    const e = el("div", "blocks");
    for (const b of list) e.appendChild(block(b));
    return e;
  }

  // A bot message in a channel: avatar, "crmbot" and the APP badge, the time.
  function message(list) {
    const m = el("div", "message");
    m.appendChild(el("div", "avatar", "CB"));
    const body = el("div", "body");
    body.appendChild(el("div", "who", '<span class="name">crmbot</span><span class="app">APP</span><span class="time">' + (locale === "fr" ? "09:30" : "9:30 AM") + "</span>"));
    body.appendChild(blocks(list));
    m.appendChild(body);
    const frame = el("div", "channel");
    frame.appendChild(m);
    return frame;
  }

  // A modal view: title bar with its close cross, the blocks, the footer's close and submit buttons.
  function modal(view) {
    const backdrop = el("div", "backdrop");
    const box = el("div", "modal");
    const head = el("div", "modal-head");
    head.appendChild(el("div", "app-icon", "CB"));
    head.appendChild(el("div", "title", text(view.title)));
    head.appendChild(el("div", "close-x", "\u2715"));
    box.appendChild(head);
    const body = el("div", "modal-body");
    body.appendChild(blocks(view.blocks));
    box.appendChild(body);
    if (view.submit || view.close) {
      const foot = el("div", "modal-foot");
      foot.appendChild(button({ text: view.close || { type: "plain_text", text: locale === "fr" ? "Annuler" : "Cancel" } }));
      if (view.submit) foot.appendChild(button({ text: view.submit, style: "primary" }));
      box.appendChild(foot);
    }
    backdrop.appendChild(box);
    return backdrop;
  }

  window.BlockKit = {
    render(payload, opts) {
      locale = (opts && opts.locale) || "en";
      if (Array.isArray(payload)) return message(payload);
      if (payload && payload.type === "modal") return modal(payload);
      if (payload && Array.isArray(payload.blocks)) return message(payload.blocks);
      throw new Error("blockkit.js: neither a blocks array nor a modal view");
    },
    mrkdwn,
  };
})();
