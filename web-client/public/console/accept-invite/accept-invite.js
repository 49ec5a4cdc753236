// An invitation (or a password reset) link: `/console/accept-invite#token=…`. The token is read
// from the fragment (never sent to a server by the browser) and taken out of the address bar;
// the password is set with `POST /v1/auth/accept-invite`.

const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";
history.replaceState(null, "", location.pathname);
const form = /** @type {HTMLFormElement} */ (document.getElementById("set-password"));
const result = /** @type {HTMLElement} */ (document.getElementById("result"));
const button = /** @type {HTMLButtonElement} */ (document.getElementById("set"));

if (!token) {
  result.textContent = "This page needs the link your admin gave you (it ends with #token=…).";
  button.disabled = true;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const password = /** @type {HTMLInputElement} */ (document.getElementById("new-password")).value;
  const repeat = /** @type {HTMLInputElement} */ (document.getElementById("repeat-password")).value;
  if (password !== repeat) {
    result.textContent = "The two passwords differ.";
    return;
  }
  button.disabled = true;
  try {
    const r = await fetch("/v1/auth/accept-invite", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, password }),
    });
    if (r.status === 204) {
      form.hidden = true;
      /** @type {HTMLElement} */ (document.getElementById("done")).hidden = false;
      return;
    }
    const body = await r.json().catch(() => null);
    result.textContent = r.status === 401
      ? "This link was used already or has expired: ask your admin for a new one."
      : body?.error?.message ?? `Not set (${r.status}).`;
  } catch {
    result.textContent = "Could not reach the server; try again.";
  } finally {
    button.disabled = false;
  }
});
