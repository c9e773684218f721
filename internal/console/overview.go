package console

import (
	"net/http"

	"github.com/ongoingai/gateway/web"
)

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, web.OverviewPage(web.OverviewView{Shell: c.shell(r, "Overview")}))
}
