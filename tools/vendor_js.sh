#!/usr/bin/env bash
# Fetch the JavaScript the static website needs so it works with no network (no CDN):
# @jupyter-widgets/html-manager (the ipywidgets 8 embedder, with its fonts), require.js and
# MathJax 3, from the npm registry, into _vendor/ (served as the site's static files; see
# _config.yml).
# Not under book/_static/, which Jupyter Book would inject into every page.
set -euo pipefail
cd "$(dirname "$0")/.."
HTML_MANAGER=1.0.15
REQUIREJS=2.3.7
MATHJAX=3.2.2
stamp="_vendor/.versions"
want="html-manager=$HTML_MANAGER requirejs=$REQUIREJS mathjax=$MATHJAX"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" "mathjax@$MATHJAX" >/dev/null 2>&1)
rm -rf _vendor && mkdir -p _vendor
tar xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp" package/dist
cp "$tmp"/package/dist/* _vendor/
rm -f _vendor/embed.js  # the non-AMD bundle; the site uses embed-amd.js
tar xzf "$tmp"/requirejs-*.tgz -C "$tmp" package/require.js
cp "$tmp"/package/require.js _vendor/require.js
mkdir -p "$tmp/mj" && tar xzf "$tmp"/mathjax-*.tgz -C "$tmp/mj" package/es5
mv "$tmp/mj/package/es5" _vendor/mathjax
echo "$want" > "$stamp"
echo "vendored $want into _vendor/"
