package ewstest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ItemRef identifies a stored item.
type ItemRef struct {
	ID, ChangeKey string
}

// Address is a postal address of a contact.
type Address struct {
	Street, City, State, CountryOrRegion, PostalCode string
}

// Contact is a typed Exchange contact. Emails are keyed EmailAddress1..3,
// Phones by EWS phone key (BusinessPhone, HomePhone, MobilePhone, …),
// Addresses by Business, Home or Other.
type Contact struct {
	GivenName, MiddleName, Surname, Nickname, DisplayName string
	CompanyName, JobTitle, Department                     string
	Birthday                                              time.Time
	Emails                                                map[string]string
	Phones                                                map[string]string
	Addresses                                             map[string]Address
	Notes                                                 string // Body
	Categories                                            []string
	Photo                                                 []byte // JPEG; sets HasPicture and a ContactPicture.jpg attachment
}

// DistributionList is a contact group.
type DistributionList struct {
	DisplayName string
	Members     []Member
}

// Member of a distribution list.
type Member struct{ Name, Email string }

// Task is a typed Exchange task. Status: NotStarted, InProgress,
// Completed, WaitingOnOthers, Deferred. Importance: Low, Normal, High.
type Task struct {
	Subject                          string
	Status                           string
	StartDate, DueDate, CompleteDate time.Time
	PercentComplete                  int
	Importance                       string
	Body                             string
	Categories                       []string
}

func (s *Server) seedCtx(mb *Mailbox) *requestCtx {
	return &requestCtx{s: s, mb: mb, version: "Exchange2016", rank: 9}
}

// AddFolder creates a folder under parent (distinguished id, folder id or
// display name) with a folder class such as IPF.Appointment, IPF.Contact
// or IPF.Task; it returns the folder id.
func (mb *Mailbox) AddFolder(parent, name, class string) (string, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	p, err := mb.folderRef(parent)
	if err != nil {
		return "", err
	}
	return mb.addFolderLocked(p, name, class).id, nil
}

// RenameFolder changes a folder's display name (an Exchange-side change
// SyncFolderHierarchy reports).
func (mb *Mailbox) RenameFolder(folder, name string) error {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return err
	}
	f.name = name
	f.lastSeq = mb.s.bump()
	f.ck = mb.s.newCK(0x01, f.id)
	return nil
}

// DeleteFolder removes a folder and its contents.
func (mb *Mailbox) DeleteFolder(folder string) error {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return err
	}
	mb.deleteFolderLocked(f)
	return nil
}

// FolderID returns the id of a folder reference.
func (mb *Mailbox) FolderID(folder string) (string, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return "", err
	}
	return f.id, nil
}

// AddCalendarItem stores an event given as iCalendar (a master with its
// overrides) in folder, as an Outlook or Exchange-side import would.
func (mb *Mailbox) AddCalendarItem(folder, ics string) (ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return ItemRef{}, err
	}
	cal, err := parseICS([]byte(ics))
	if err != nil {
		return ItemRef{}, fmt.Errorf("ewstest: calendar data: %v", err)
	}
	mb.s.seedCtx(mb).normaliseCal(cal)
	it := &item{kind: kindCalendar, cal: cal}
	it.ensureMaps()
	mb.insertLocked(f, it)
	return ItemRef{it.id, it.ck}, nil
}

func (c Contact) apply(it *item) {
	it.props = map[string]string{}
	it.idx = map[string]string{}
	it.multi = map[string][]string{}
	set := func(k, v string) {
		if v != "" {
			it.props[k] = v
		}
	}
	set("contacts:GivenName", c.GivenName)
	set("contacts:MiddleName", c.MiddleName)
	set("contacts:Surname", c.Surname)
	set("contacts:Nickname", c.Nickname)
	dn := c.DisplayName
	if dn == "" {
		dn = strings.TrimSpace(c.GivenName + " " + c.Surname)
	}
	set("contacts:DisplayName", dn)
	set("item:Subject", dn)
	set("contacts:CompanyName", c.CompanyName)
	set("contacts:JobTitle", c.JobTitle)
	set("contacts:Department", c.Department)
	set("item:Body", c.Notes)
	if !c.Birthday.IsZero() {
		set("contacts:Birthday", ewsTime(c.Birthday))
	}
	for k, v := range c.Emails {
		it.idx["contacts:EmailAddress/"+k] = v
	}
	for k, v := range c.Phones {
		it.idx["contacts:PhoneNumber/"+k] = v
	}
	for k, a := range c.Addresses {
		for part, v := range map[string]string{"Street": a.Street, "City": a.City, "State": a.State, "CountryOrRegion": a.CountryOrRegion, "PostalCode": a.PostalCode} {
			if v != "" {
				it.idx["contacts:PhysicalAddress:"+part+"/"+k] = v
			}
		}
	}
	if len(c.Categories) > 0 {
		it.multi["item:Categories"] = append([]string(nil), c.Categories...)
	}
}

// AddContact stores a typed contact.
func (mb *Mailbox) AddContact(folder string, c Contact) (ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return ItemRef{}, err
	}
	it := &item{kind: kindContact}
	c.apply(it)
	if len(c.Photo) > 0 {
		it.atts = []*attachment{{id: mb.s.newID(0x41), name: "ContactPicture.jpg", contentType: "image/jpeg", content: c.Photo, isPhoto: true}}
	}
	mb.insertLocked(f, it)
	return ItemRef{it.id, it.ck}, nil
}

// AddDistributionList stores a contact group.
func (mb *Mailbox) AddDistributionList(folder string, dl DistributionList) (ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return ItemRef{}, err
	}
	it := &item{kind: kindDistList}
	it.ensureMaps()
	it.props["contacts:DisplayName"] = dl.DisplayName
	it.props["item:Subject"] = dl.DisplayName
	for _, m := range dl.Members {
		it.members = append(it.members, member(m))
	}
	mb.insertLocked(f, it)
	return ItemRef{it.id, it.ck}, nil
}

func (t Task) apply(it *item) {
	it.props = map[string]string{}
	it.idx = map[string]string{}
	it.multi = map[string][]string{}
	set := func(k, v string) {
		if v != "" {
			it.props[k] = v
		}
	}
	set("item:Subject", t.Subject)
	set("item:Body", t.Body)
	set("item:Importance", t.Importance)
	set("task:Status", t.Status)
	if t.PercentComplete > 0 {
		set("task:PercentComplete", strconv.Itoa(t.PercentComplete))
	}
	for k, v := range map[string]time.Time{"task:StartDate": t.StartDate, "task:DueDate": t.DueDate, "task:CompleteDate": t.CompleteDate} {
		if !v.IsZero() {
			set(k, ewsTime(v))
		}
	}
	if t.Status == "Completed" {
		set("task:PercentComplete", "100")
	}
	if len(t.Categories) > 0 {
		it.multi["item:Categories"] = append([]string(nil), t.Categories...)
	}
}

// AddTask stores a typed task.
func (mb *Mailbox) AddTask(folder string, t Task) (ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return ItemRef{}, err
	}
	it := &item{kind: kindTask}
	t.apply(it)
	mb.insertLocked(f, it)
	return ItemRef{it.id, it.ck}, nil
}

// UpdateItem makes an Exchange-side change: data is the new iCalendar
// (string) of a calendar item, or a Contact, DistributionList or Task
// replacing the typed item. The ChangeKey changes; a client's later
// update with the old ChangeKey then conflicts.
func (mb *Mailbox) UpdateItem(id string, data any) (ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	it := mb.items[id]
	if it == nil {
		return ItemRef{}, fmt.Errorf("ewstest: no item %q", id)
	}
	switch d := data.(type) {
	case string:
		if it.kind != kindCalendar {
			return ItemRef{}, fmt.Errorf("ewstest: item %q is not a calendar item", id)
		}
		cal, err := parseICS([]byte(d))
		if err != nil {
			return ItemRef{}, fmt.Errorf("ewstest: calendar data: %v", err)
		}
		mb.s.seedCtx(mb).normaliseCal(cal)
		it.cal = cal
	case Contact:
		d.apply(it)
	case Task:
		d.apply(it)
	case DistributionList:
		it.props["contacts:DisplayName"], it.props["item:Subject"] = d.DisplayName, d.DisplayName
		it.members = nil
		for _, m := range d.Members {
			it.members = append(it.members, member(m))
		}
	default:
		return ItemRef{}, fmt.Errorf("ewstest: unsupported update %T", data)
	}
	mb.touchLocked(it, []string{"*"})
	return ItemRef{it.id, it.ck}, nil
}

// DeleteItem removes an item (hard delete, as from another client).
func (mb *Mailbox) DeleteItem(id string) error {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	it := mb.items[id]
	if it == nil {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	mb.removeLocked(it)
	return nil
}

// ItemICS returns the stored iCalendar of a calendar item.
func (mb *Mailbox) ItemICS(id string) (string, bool) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	it := mb.items[id]
	if it == nil || it.cal == nil {
		return "", false
	}
	return icsOf(it.cal), true
}

// Items lists the ids of the items in a folder, in creation order.
func (mb *Mailbox) Items(folder string) ([]ItemRef, error) {
	mb.s.mu.Lock()
	defer mb.s.mu.Unlock()
	f, err := mb.folderRef(folder)
	if err != nil {
		return nil, err
	}
	var out []ItemRef
	for _, it := range f.items {
		out = append(out, ItemRef{it.id, it.ck})
	}
	return out, nil
}

// Address is the mailbox's primary SMTP address.
func (mb *Mailbox) Address() string { return mb.addr }

// The Server methods below act on the primary mailbox.

// AddFolder: see Mailbox.AddFolder.
func (s *Server) AddFolder(parent, name, class string) (string, error) {
	return s.primary.AddFolder(parent, name, class)
}

// AddCalendarItem: see Mailbox.AddCalendarItem.
func (s *Server) AddCalendarItem(folder, ics string) (ItemRef, error) {
	return s.primary.AddCalendarItem(folder, ics)
}

// AddContact: see Mailbox.AddContact.
func (s *Server) AddContact(folder string, c Contact) (ItemRef, error) {
	return s.primary.AddContact(folder, c)
}

// AddDistributionList: see Mailbox.AddDistributionList.
func (s *Server) AddDistributionList(folder string, dl DistributionList) (ItemRef, error) {
	return s.primary.AddDistributionList(folder, dl)
}

// AddTask: see Mailbox.AddTask.
func (s *Server) AddTask(folder string, t Task) (ItemRef, error) { return s.primary.AddTask(folder, t) }

// UpdateItem: see Mailbox.UpdateItem.
func (s *Server) UpdateItem(id string, data any) (ItemRef, error) {
	return s.primary.UpdateItem(id, data)
}

// DeleteItem: see Mailbox.DeleteItem.
func (s *Server) DeleteItem(id string) error { return s.primary.DeleteItem(id) }
