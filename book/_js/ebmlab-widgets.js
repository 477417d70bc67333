// Loaded between require.js and the ipywidgets HTML manager (embed-amd.js) on pages that
// hold widgets; see nb_ipywidgets_js in _config.yml. Two fixes so widgets work offline:
(function () {
  // 1. The manager loads its fonts relative to its own AMD module id; point that id at the
  //    folder this script is served from (the site's _static/), not at the page's folder.
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  if (window.require && window.require.config) {
    window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": here.slice(0, -1) } });
  }
  // 2. The manager typesets widget labels with the MathJax 2 API (MathJax.Hub.Queue); the site
  //    uses MathJax 3. Give MathJax 3 a Hub.Queue that forwards to typesetPromise.
  function bridge() {
    var mj = window.MathJax;
    if (mj && mj.version && !mj.Hub) {
      mj.Hub = {
        Queue: function (job) {
          var el = job && job[2];
          if (el && mj.typesetPromise) mj.typesetPromise([el]).catch(function () {});
        },
      };
    }
  }
  bridge();
  document.addEventListener("DOMContentLoaded", bridge);
})();
