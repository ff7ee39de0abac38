/* Dealbook: sortable deals table and the filter box on the pipeline page.
 *
 * Tablesort (vendored, global `Tablesort`) sorts table.db-deals; cells carry
 * numeric sort keys in data-sort, number columns have data-sort-method="number".
 * input.db-filter[data-table=<id>] hides the rows of that table whose text does
 * not contain what is typed (case-insensitive).
 *
 * A page that is not in the navigation but belongs to a section (a deal page belongs to the
 * pipeline) names that section's page in data-section; its tab and its entry in the menu are
 * marked active, as Material marks them for pages in the navigation.
 *
 * Material may swap pages without a reload (instant navigation), so set-up runs
 * for every page through `document$` when it exists, else on DOMContentLoaded.
 * Every step is idempotent and does nothing on pages without these elements.
 */
(function () {
  "use strict";

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function setUpSorting(root) {
    if (typeof Tablesort !== "function") {
      return;
    }
    each(root.querySelectorAll("table.db-deals"), function (table) {
      if (table.dataset.dbSortable || !table.tHead || !table.tBodies.length) {
        return;
      }
      table.dataset.dbSortable = "1";
      new Tablesort(table);
    });
  }

  function setUpFilter(input) {
    var table = document.getElementById(input.dataset.table || "");
    if (!table || input.dataset.dbFilter) {
      return;
    }
    input.dataset.dbFilter = "1";

    var count = document.createElement("span");
    count.className = "db-filter__count";
    count.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", count);

    function apply() {
      var needle = input.value.trim().toLocaleLowerCase();
      var shown = 0;
      var total = 0;
      each(table.tBodies, function (body) {
        each(body.rows, function (row) {
          var match = !needle || row.textContent.toLocaleLowerCase().indexOf(needle) !== -1;
          row.hidden = !match;
          total += 1;
          shown += match ? 1 : 0;
        });
      });
      count.textContent = needle ? shown + " / " + total : "";
    }

    input.addEventListener("input", apply);
    input.addEventListener("search", apply);
    apply(); /* the browser may restore a typed value on back/forward */
  }

  function markSection(root) {
    var holder = root.querySelector("[data-section]");
    if (!holder) {
      return;
    }
    var target = new URL(holder.getAttribute("data-section"), document.baseURI).href;
    each(document.querySelectorAll("a.md-tabs__link, a.md-nav__link"), function (link) {
      if (link.href !== target) {
        return;
      }
      var item = link.closest(".md-tabs__item");
      if (item) {
        item.classList.add("md-tabs__item--active");
      } else {
        link.classList.add("md-nav__link--active");
      }
    });
  }

  function setUp() {
    markSection(document);
    setUpSorting(document);
    each(document.querySelectorAll("input.db-filter"), setUpFilter);
  }

  if (typeof document$ !== "undefined" && document$ && typeof document$.subscribe === "function") {
    document$.subscribe(setUp);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
