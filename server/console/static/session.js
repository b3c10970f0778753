// The sign-in box of every page: an API key for this tab, sent with each API call.
import { signIn, signedIn } from "./api.js";

const form = document.getElementById("sign-in");
const input = document.getElementById("api-key");
const state = document.getElementById("sign-in-state");

function show() {
  const on = signedIn();
  state.textContent = on ? "signed in with an API key" : "";
  input.hidden = on;
  input.previousElementSibling.hidden = on;
  form.querySelector("button").textContent = on ? "Sign out" : "Sign in";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(signedIn() ? null : input.value.trim() || null);
  input.value = "";
  location.reload(); // every module reads the API again, with the new credentials
});
show();
