// Lint for the browser apps (public/) and the browser tests (tests/).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "test-results/"] },
  js.configs.recommended,
  {
    files: ["public/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser } },
  },
  {
    files: ["public/**/*-worklet.js"],
    languageOptions: {
      sourceType: "script",
      globals: { AudioWorkletProcessor: "readonly", registerProcessor: "readonly" },
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
  {
    // Node scripts whose callbacks to page.evaluate() run in the page.
    files: ["tests/**/*.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node, ...globals.browser } },
  },
  {
    rules: {
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
];
