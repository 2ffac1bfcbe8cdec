package sqlite

import (
	"sort"

	"github.com/tokenwall/tokenwall/store"
)

func sortItems(items []store.OutboxItem) {
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreatedAt.Equal(items[j].CreatedAt) {
			return items[i].CreatedAt.Before(items[j].CreatedAt)
		}
		return items[i].ID < items[j].ID
	})
}
