// The sign-in box of every page: an API key for this tab, sent with each API call, and who the
// server says the caller is (GET /me), shown beside it with the tenant.
import { signIn, signedIn, whoami } from "./api.js";

const form = document.getElementById("sign-in");
const input = document.getElementById("api-key");
const state = document.getElementById("sign-in-state");

async function show() {
  const on = signedIn();
  input.hidden = on;
  input.previousElementSibling.hidden = on;
  form.querySelector("button").textContent = on ? "Sign out" : "Sign in";
  const me = await whoami();
  document.body.dataset.role = me?.role ?? "";
  if (me === null) {
    state.textContent = on ? "the key was refused" : "";
  } else if (me.auth === "off") {
    state.textContent = `authentication off: you act as ${me.role} · tenant ${me.tenant}`;
  } else {
    state.textContent = `${me.display_name ?? me.subject} · ${me.role} · tenant ${me.tenant}`;
  }
  state.title = me ? `signed in by ${me.via ?? "no credentials"}` : "";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(signedIn() ? null : input.value.trim() || null);
  input.value = "";
  location.reload(); // every module reads the API again, with the new credentials
});
show();
