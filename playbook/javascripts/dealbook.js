/* Dealbook: sortable deals tables, and the filters of the "All deals" table.
 *
 * Tablesort (vendored, global `Tablesort`) sorts table.db-deals; cells carry
 * numeric sort keys in data-sort, number columns have data-sort-method="number"
 * (the amount column's key is the amount in the reporting currency).
 * input.db-filter[data-table=<id>] hides the rows of that table whose text does
 * not contain what is typed (case-insensitive); each select.db-select with the
 * same data-table and a data-key (owner, stage, grade, forecast) keeps only the
 * rows whose data-<key> equals the chosen value. A row is shown when it passes
 * all of them.
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
    var selects = [];
    each(document.querySelectorAll("select.db-select"), function (select) {
      if (select.dataset.table === input.dataset.table) {
        selects.push(select);
      }
    });

    var count = document.createElement("span");
    count.className = "db-filter__count";
    count.setAttribute("aria-live", "polite");
    (selects.length ? selects[selects.length - 1] : input).insertAdjacentElement("afterend", count);

    function apply() {
      var needle = input.value.trim().toLocaleLowerCase();
      var wanted = [];
      selects.forEach(function (select) {
        select.classList.toggle("is-active", select.value !== "");
        if (select.value !== "") {
          wanted.push([select.dataset.key, select.value]);
        }
      });
      var shown = 0;
      var total = 0;
      each(table.tBodies, function (body) {
        each(body.rows, function (row) {
          var match = !needle || row.textContent.toLocaleLowerCase().indexOf(needle) !== -1;
          for (var i = 0; match && i < wanted.length; i += 1) {
            /* exact comparison: an owner's name is data, never a pattern */
            match = row.dataset[wanted[i][0]] === wanted[i][1];
          }
          row.hidden = !match;
          total += 1;
          shown += match ? 1 : 0;
        });
      });
      count.textContent = needle || wanted.length ? shown + " / " + total : "";
    }

    input.addEventListener("input", apply);
    input.addEventListener("search", apply);
    selects.forEach(function (select) {
      select.addEventListener("change", apply);
    });
    apply(); /* the browser may restore a typed value or a choice on back/forward */
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
