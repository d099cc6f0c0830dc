// eslint's flat config for the player: `npm run lint` (make lint runs it). The modules under src/ run in the
// browser (bundled to ES2020 by build.mjs); the build, this file and the tests run in Node.
import js from "@eslint/js";
import globals from "globals";

export default [
  {ignores: ["dist/", "node_modules/"]},
  js.configs.recommended,
  {
    languageOptions: {ecmaVersion: 2020, sourceType: "module"},
    rules: {
      "eqeqeq": ["error", "always", {null: "ignore"}], // `x == null` means null or undefined, on purpose
      "no-console": ["error", {allow: ["warn", "error"]}], // never log more than a warning: URLs carry tokens
      "no-unused-vars": ["error", {args: "after-used", caughtErrors: "all"}],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "object-shorthand": "error",
    },
  },
  {files: ["src/**/*.js"], languageOptions: {globals: globals.browser}},
  {
    files: ["build.mjs", "eslint.config.js", "test/**/*.js"],
    languageOptions: {ecmaVersion: "latest", globals: globals.node},
  },
];
