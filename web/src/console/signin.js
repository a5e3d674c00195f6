// Sign-in: a username and password form; wrong password and throttling in words.

import { t } from "./i18n.js";
import { h, errorText } from "./dom.js";

export function renderSignin(container, { api, onSignedIn }) {
  const user = h("input", { id: "signin-username", name: "username", autocomplete: "username", required: true, "data-testid": "signin-username" });
  const pass = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true, "data-testid": "signin-password" });
  const message = h("p", { class: "signin-error", role: "alert", "aria-live": "assertive", "data-testid": "signin-error", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "signin-submit" }, t("signin.submit"));

  const form = h(
    "form",
    { class: "signin-card card", "data-testid": "signin-form", novalidate: true },
    h("h1", {}, t("signin.title")),
    h("p", { class: "muted" }, t("signin.lead")),
    h("div", { class: "field" }, h("label", { for: user.id }, t("signin.username")), user),
    h("div", { class: "field" }, h("label", { for: pass.id }, t("signin.password")), pass),
    message,
    submit,
  );

  const show = (text, kind) => {
    message.textContent = text;
    message.dataset.kind = kind;
    message.hidden = !text;
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!user.value.trim() || !pass.value) {
      show(t("signin.missing"), "missing");
      (user.value.trim() ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("signin.busy");
    show("", "");
    try {
      const who = await api.login(user.value.trim(), pass.value);
      onSignedIn(who);
    } catch (err) {
      pass.value = "";
      if (err.kind === "unauthorized") show(t("signin.wrong"), "wrong");
      else show(errorText(err), err.kind || "server");
      pass.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("signin.submit");
    }
  });

  container.replaceChildren(h("div", { class: "signin-page" }, form));
  user.focus();
}
