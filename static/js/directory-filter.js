// The home page's filter: type part of a department's or a window's name and only the matches stay.
// Without JavaScript the filter stays hidden and the whole directory shows.
const box = document.querySelector("[data-directory-filter]");
const input = document.getElementById("directory-q");
const count = document.getElementById("directory-count");
const cards = [...document.querySelectorAll("#directory > .department-card")];

function normalise(text) {
  return text.toLowerCase().replace(/\s+/g, "");
}

function apply() {
  const query = normalise(input.value);
  let windows = 0;
  for (const card of cards) {
    const departmentHit = !query || normalise(card.dataset.filterText).includes(query);
    let shown = 0;
    for (const item of card.querySelectorAll("[data-filter-text]:not(.department-card)")) {
      const hit = departmentHit || normalise(item.dataset.filterText).includes(query);
      item.hidden = !hit;
      if (hit) shown += 1;
    }
    card.hidden = !departmentHit && shown === 0;
    if (!card.hidden) windows += shown;
  }
  count.textContent = query ? (windows ? `找到 ${windows} 个窗口` : "没有名称相符的部门或窗口，请换个词试试。") : "";
}

if (box && input) {
  box.hidden = false;
  input.addEventListener("input", apply);
  apply();
}
