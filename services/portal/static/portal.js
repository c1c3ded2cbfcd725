// Progressive enhancement only: every page works without it.
// After a refused form, move the focus to the error summary so screen readers read it first.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("fehler");
  if (summary) { summary.focus(); }
});
