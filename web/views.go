package web

import "time"

// Shell is what every signed-in page shows around its content.
type Shell struct {
	Title  string
	Active string // the Name of the current NavLink
	Nav    []NavLink
	// CSRF is the session's synchronizer token, sent back in every form
	// and in htmx's requests (hx-headers); empty when signed out.
	CSRF string
	// ReadOnly is set with auth disabled: the banner says so and no form
	// that changes anything is shown.
	ReadOnly bool
	// Who names the signed-in key; empty with auth disabled.
	Who string
}

// NavLink is one navigation entry: shown only when the caller may open it.
type NavLink struct {
	Name, Href string
}

// FieldErrors maps a form field's name to the message shown next to it.
type FieldErrors map[string]string

// Notice is a message shown at the top of a page's content.
type Notice struct {
	Text  string
	Error bool
}

// KeyRow is one gateway key in the Keys table.
type KeyRow struct {
	ID, Name, Role, Workspace, Status string
	Static                            bool
	Created                           time.Time
	LastUsed, Expires                 *time.Time
	// Confirm is "rotate" or "revoke" while the row awaits the second
	// click that confirms it.
	Confirm string
}

// NewToken is a token shown once, after a create or a rotation.
type NewToken struct {
	KeyID, Token string
	// OldValidUntil is when a rotated key's previous token stops working.
	OldValidUntil *time.Time
}

// KeysView is the Keys page.
type KeysView struct {
	Shell
	Keys       []KeyRow
	CanManage  bool
	Roles      []string
	Workspaces []string
	Form       KeyForm
	Errors     FieldErrors
	Notice     *Notice
	NewToken   *NewToken
}

// KeyForm is the create form's values, kept when it is refused.
type KeyForm struct {
	Name, Role, Workspace, Expires string
}

// WorkspaceRow is one workspace.
type WorkspaceRow struct {
	ID, Name string
	Created  time.Time
}

// WorkspacesView is the Workspaces page.
type WorkspacesView struct {
	Shell
	Workspaces []WorkspaceRow
	CanManage  bool
	Form       WorkspaceRow // the create form's values
	Errors     FieldErrors  // create form errors
	// RowErrors holds a rename or delete refusal by workspace id.
	RowErrors map[string]string
	Notice    *Notice
}

// ErrorView is an error page: a refusal or a failure.
type ErrorView struct {
	Shell
	Status  int
	Message string
}

// Table is a plain table of text: caption, column headings, rows. The
// first cell of a row is its heading; cells after it are numbers unless
// the table says otherwise.
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// Stat is one headline figure.
type Stat struct {
	Name, Value string
}

// Period is the headline of one window.
type Period struct {
	Name  string
	Stats []Stat
}

// OverviewView is the Overview page.
type OverviewView struct {
	Shell
	Periods   []Period
	TopModels Table
	TopKeys   Table
	// Pipeline is the trace writer's health, nil for callers without
	// installation:read.
	Pipeline *Table
}

// AnalyticsView is the Analytics page.
type AnalyticsView struct {
	Shell
	From, To, Provider, Model, GroupBy string
	GroupBys                           []Field // value, label
	Errors                             FieldErrors
	Cost, Tokens                       Chart
	ByGroup                            *Chart // cost by group, when grouped
	Tables                             []Table
}

// TraceFilters are the Traces page's filter values, as typed.
type TraceFilters struct {
	Provider, Model, Status, From, To string
}

// TraceRow is one trace in the list.
type TraceRow struct {
	ID, Provider, Model, Key string
	Time                     time.Time
	Status                   int
	Tokens                   int64
	CostUSD                  float64
	Priced                   bool
	LatencyMS                int64
}

// TracesView is the Traces page.
type TracesView struct {
	Shell
	Filters TraceFilters
	Errors  FieldErrors
	Rows    []TraceRow
	// NextHref is the Next page link, "" on the last page.
	NextHref string
}

// TraceDetailView is one trace.
type TraceDetailView struct {
	Shell
	Fields []Field // what the trace says, in order
	// Usage parts, finish reasons, headers, bodies and metadata.
	Usage           []Field
	FinishReasons   []string
	RequestHeaders  []Field
	ResponseHeaders []Field
	RequestBody     string
	ResponseBody    string
	Metadata        string // indented JSON, "" when none
}

// Field is a labelled value.
type Field struct {
	Name, Value string
}

// AuditRow is one audit event.
type AuditRow struct {
	Time                                           time.Time
	Actor, Action, Target, Outcome, Reason, Client string
	Count                                          int64
}

// AuditView is the Audit log page.
type AuditView struct {
	Shell
	Action, From, To string
	Actions          []string // the action filter's choices
	Errors           FieldErrors
	Rows             []AuditRow
	NextHref         string
}
