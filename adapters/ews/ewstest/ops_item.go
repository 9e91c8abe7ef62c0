package ewstest

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// lookup finds an item (or a synthetic occurrence) by id in any mailbox.
func (c *requestCtx) lookup(id string) (*item, *occRef) {
	mbs := []*Mailbox{c.mb}
	for _, mb := range c.s.mailboxes {
		if mb != c.mb {
			mbs = append(mbs, mb)
		}
	}
	for _, mb := range mbs {
		if it := mb.items[id]; it != nil {
			return it, nil
		}
		if o, ok := mb.occ[id]; ok {
			if it := mb.items[o.master]; it != nil {
				return it, &o
			}
		}
	}
	return nil, nil
}

// resolveItem resolves ItemId / OccurrenceItemId / RecurringMasterItemId.
func (c *requestCtx) resolveItem(n *node) (*item, *occurrence, string) {
	switch n.Local {
	case "ItemId":
		it, ref := c.lookup(n.attr("Id"))
		if it == nil {
			if len(n.attr("Id")) < 8 {
				return nil, nil, "ErrorInvalidIdMalformed"
			}
			return nil, nil, "ErrorItemNotFound"
		}
		if ref != nil {
			occ, err := it.folder.mb.occurrences(it, ref.recID, ref.recID.Add(time.Second), c.floating())
			for i := range occ {
				if occ[i].recID.Equal(ref.recID) && err == nil {
					return it, &occ[i], ""
				}
			}
			// A moved exception lies outside the window at its original
			// start: find it by its instance index.
			if o, ok := it.folder.mb.occurrenceByIndex(it, ref.index, c.floating()); ok && o.recID.Equal(ref.recID) {
				return it, o, ""
			}
			return nil, nil, "ErrorItemNotFound"
		}
		return it, nil, ""
	case "OccurrenceItemId":
		it, _ := c.lookup(n.attr("RecurringMasterId"))
		if it == nil {
			return nil, nil, "ErrorItemNotFound"
		}
		idx, err := strconv.Atoi(n.attr("InstanceIndex"))
		if err != nil {
			return nil, nil, "ErrorInvalidRequest"
		}
		if ci := it.info(); ci == nil || !ci.recurring {
			return nil, nil, "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
		}
		o, ok := it.folder.mb.occurrenceByIndex(it, idx, c.floating())
		if !ok {
			return nil, nil, "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
		}
		return it, o, ""
	case "RecurringMasterItemId":
		it, ref := c.lookup(n.attr("OccurrenceId"))
		if it == nil {
			return nil, nil, "ErrorItemNotFound"
		}
		_ = ref
		return it, nil, ""
	}
	return nil, nil, "ErrorInvalidRequest"
}

func itemIDNodes(n *node) []*node {
	var out []*node
	for _, k := range n.all() {
		switch k.Local {
		case "ItemId", "OccurrenceItemId", "RecurringMasterItemId":
			out = append(out, k)
		}
	}
	return out
}

func opGetItem(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("ItemShape"))
	r := c.begin(w, "GetItem")
	for _, id := range itemIDNodes(req.kid("ItemIds")) {
		if r.injected("m:Items") {
			continue
		}
		it, occ, code := c.resolveItem(id)
		if code != "" {
			r.fail(code, "m:Items")
			continue
		}
		r.ok()
		w.open("m:Items")
		c.writeItem(w, it, sh, occ)
		w.close("m:Items")
		r.done()
	}
	r.end()
	return nil
}

func opFindItem(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("ItemShape"))
	pg := parsePaging(req.kid("IndexedPageItemView"))
	cv := req.kid("CalendarView")
	restr := req.kid("Restriction")
	sortBy := req.at("SortOrder", "FieldOrder")
	r := c.begin(w, "FindItem")
	for _, id := range folderIDNodes(req.kid("ParentFolderIds")) {
		if r.injected("m:RootFolder") {
			continue
		}
		f, code := c.resolveFolder(id)
		if code != "" {
			r.fail(code)
			continue
		}
		type entry struct {
			it  *item
			occ *occurrence
		}
		var list []entry
		if cv != nil {
			loc := c.floating()
			start, err1 := parseEWSTime(cv.attr("StartDate"), loc)
			end, err2 := parseEWSTime(cv.attr("EndDate"), loc)
			if err1 != nil || err2 != nil || !end.After(start) {
				r.fail("ErrorInvalidRequest")
				continue
			}
			if end.Sub(start) > 2*366*24*time.Hour {
				r.fail("ErrorCalendarViewRangeTooBig")
				continue
			}
			for _, it := range f.items {
				if it.kind != kindCalendar {
					continue
				}
				occ, err := f.mb.occurrences(it, start, end, loc)
				if err != nil {
					continue
				}
				for i := range occ {
					o := occ[i]
					if o.start.Equal(o.end) && !o.start.Before(end) || (o.end.Equal(start) && !o.start.Equal(start)) {
						continue
					}
					list = append(list, entry{it, &o})
				}
			}
			sort.SliceStable(list, func(i, j int) bool { return list[i].occ.start.Before(list[j].occ.start) })
			if max, err := strconv.Atoi(cv.attr("MaxEntriesReturned")); err == nil && max < len(list) {
				r.ok()
				writeRoot(c, w, sh, list[:max], func(e entry) (*item, *occurrence) { return e.it, e.occ }, "TotalItemsInView", strconv.Itoa(len(list)), "IncludesLastItemInRange", "false")
				r.done()
				continue
			}
			r.ok()
			writeRoot(c, w, sh, list, func(e entry) (*item, *occurrence) { return e.it, e.occ }, "TotalItemsInView", strconv.Itoa(len(list)), "IncludesLastItemInRange", "true")
			r.done()
			continue
		}
		for _, it := range f.items {
			if restr != nil && len(restr.Kids) > 0 && !evalRestriction(restr.Kids[0], c.itemGetter(it)) {
				continue
			}
			list = append(list, entry{it: it})
		}
		if u := uriOf(sortBy); u != nil {
			desc := sortBy.attr("Order") == "Descending"
			sort.SliceStable(list, func(i, j int) bool {
				a, _ := c.itemGetter(list[i].it)(u)
				b, _ := c.itemGetter(list[j].it)(u)
				if desc {
					return compare(a, b) > 0
				}
				return compare(a, b) < 0
			})
		}
		from, to, attrs := pg.page(len(list))
		r.ok()
		writeRoot(c, w, sh, list[from:to], func(e entry) (*item, *occurrence) { return e.it, nil }, attrs...)
		r.done()
	}
	r.end()
	return nil
}

func writeRoot[T any](c *requestCtx, w *xw, sh shape, list []T, get func(T) (*item, *occurrence), attrs ...string) {
	w.open("m:RootFolder", attrs...)
	w.open("t:Items")
	for _, e := range list {
		it, occ := get(e)
		// FindItem never returns MimeContent, Body or attachments.
		s2 := sh
		s2.mime = false
		delete(s2.fields, "item:Body")
		c.writeItem(w, it, s2, occ)
	}
	w.close("t:Items")
	w.close("m:RootFolder")
}

func opCreateItem(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "CreateItem")
	var target *folder
	targetCode := ""
	if ids := folderIDNodes(req.kid("SavedItemFolderId")); len(ids) > 0 {
		target, targetCode = c.resolveFolder(ids[0])
	}
	for _, el := range req.kid("Items").all() {
		if r.injected("m:Items") {
			continue
		}
		if targetCode != "" {
			r.fail(targetCode, "m:Items")
			continue
		}
		if el.Local == "CalendarItem" && !req.hasAttr("SendMeetingInvitations") {
			r.fail("ErrorSendMeetingInvitationsRequired", "m:Items")
			continue
		}
		it, err := c.newItemFrom(el)
		if err != nil {
			r.fail(err.Error(), "m:Items")
			continue
		}
		f := target
		if f == nil {
			def := map[kind]string{kindCalendar: "calendar", kindContact: "contacts", kindDistList: "contacts", kindTask: "tasks", kindMessage: "drafts"}[it.kind]
			f = c.mb.distinguished(def)
		}
		f.mb.insertLocked(f, it)
		r.ok()
		w.open("m:Items")
		w.open("t:" + elementOf(it))
		w.empty("t:ItemId", "Id", it.id, "ChangeKey", it.ck)
		w.close("t:" + elementOf(it))
		w.close("m:Items")
		r.done()
	}
	r.end()
	return nil
}

func elementOf(it *item) string {
	if it.kind == kindMessage {
		return "Message"
	}
	return it.kind.element()
}

func opUpdateItem(c *requestCtx, req *node, w *xw) *soapFault {
	mode := req.attr("ConflictResolution")
	if mode == "" {
		mode = "AutoResolve"
	}
	r := c.begin(w, "UpdateItem")
	for _, ch := range req.kid("ItemChanges").kidsNamed("ItemChange") {
		if r.injected("m:Items") {
			continue
		}
		idn := itemIDNodes(ch)
		if len(idn) == 0 {
			r.fail("ErrorInvalidRequest", "m:Items")
			continue
		}
		it, occ, code := c.resolveItem(idn[0])
		if code != "" {
			r.fail(code, "m:Items")
			continue
		}
		updates := ch.kid("Updates")
		var fields []string
		for _, u := range updates.all() {
			if uri := uriOf(u); uri != nil {
				fields = append(fields, fieldKey(uri))
			}
		}
		if ck := idn[0].attr("ChangeKey"); ck != "" && ck != it.ck && mode != "AlwaysOverwrite" && occ == nil {
			changed, known := it.changedSince(ck)
			conflict := !known || mode == "NeverOverwrite"
			for _, f := range fields {
				if changed["*"] || changed[f] {
					conflict = true
				}
			}
			if conflict {
				r.fail("ErrorIrresolvableConflict", "m:Items")
				continue
			}
		}
		if err := c.applyUpdates(it, occ, updates); err != nil {
			r.fail(err.Error(), "m:Items")
			continue
		}
		it.folder.mb.touchLocked(it, fields)
		r.ok()
		w.open("m:Items")
		w.open("t:" + elementOf(it))
		id := it.id
		if occ != nil && occ.id != "" {
			id = occ.id
		}
		w.empty("t:ItemId", "Id", id, "ChangeKey", it.ck)
		w.close("t:" + elementOf(it))
		w.close("m:Items")
		w.open("m:ConflictResults")
		w.leaf("t:Count", "0")
		w.close("m:ConflictResults")
		r.done()
	}
	r.end()
	return nil
}

func fieldKey(uri *node) string {
	switch uri.Local {
	case "ExtendedFieldURI":
		return "ext:" + extKey(uri)
	case "IndexedFieldURI":
		return uri.attr("FieldURI") + "/" + uri.attr("FieldIndex")
	}
	return uri.attr("FieldURI")
}

// applyUpdates applies Set/Append/DeleteItemField changes atomically.
func (c *requestCtx) applyUpdates(it *item, occ *occurrence, updates *node) error {
	// Work on a copy so a failing change leaves the item untouched.
	saved := snapshot(it)
	if occ != nil && occ.id != "" {
		it.editComp = overrideFor(it, occ)
	}
	defer func() { it.editComp = nil }()
	for _, u := range updates.all() {
		var err error
		switch u.Local {
		case "SetItemField", "AppendToItemField":
			var payload *node
			for _, k := range u.Kids {
				switch k.Local {
				case "FieldURI", "ExtendedFieldURI", "IndexedFieldURI":
				default:
					payload = k
				}
			}
			if payload == nil {
				err = applyError("ErrorInvalidRequest")
				break
			}
			if u.Local == "AppendToItemField" {
				f := uriOf(u).attr("FieldURI")
				switch f {
				case "item:Body", "item:Categories", "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources", "distributionlist:Members":
				default:
					err = applyError("ErrorInvalidPropertyAppend")
				}
			}
			if err == nil {
				_, err = c.apply(it, payload, u.Local == "AppendToItemField")
			}
		case "DeleteItemField":
			if uri := uriOf(u); uri != nil {
				err = c.deleteField(it, uri)
			}
		}
		if err != nil {
			restore(it, saved)
			return err
		}
	}
	if it.cal != nil {
		if _, err := deriveCal(it.cal); err != nil {
			restore(it, saved)
			return applyError("ErrorInvalidPropertySet")
		}
	}
	return nil
}

type itemSnapshot struct {
	props   map[string]string
	idx     map[string]string
	multi   map[string][]string
	ext     []*extProp
	ics     string
	members []member
}

func snapshot(it *item) itemSnapshot {
	it.ensureMaps()
	s := itemSnapshot{props: map[string]string{}, idx: map[string]string{}, multi: map[string][]string{}, members: append([]member(nil), it.members...)}
	for k, v := range it.props {
		s.props[k] = v
	}
	for k, v := range it.idx {
		s.idx[k] = v
	}
	for k, v := range it.multi {
		s.multi[k] = append([]string(nil), v...)
	}
	for _, e := range it.ext {
		cp := *e
		s.ext = append(s.ext, &cp)
	}
	if it.cal != nil {
		s.ics = icsOf(it.cal)
	}
	return s
}

func restore(it *item, s itemSnapshot) {
	it.props, it.idx, it.multi, it.ext, it.members = s.props, s.idx, s.multi, s.ext, s.members
	if s.ics != "" {
		if cal, err := parseICS([]byte(s.ics)); err == nil {
			it.cal = cal
		}
	}
}

// overrideFor returns (creating it) the exception VEVENT of an occurrence.
func overrideFor(it *item, occ *occurrence) *ical.Component {
	ci := it.info()
	for _, o := range ci.overrides {
		if t, _, err := parseCalTime(o.Props.Get(ical.PropRecurrenceID), ci.resolve, time.UTC); err == nil && t.Equal(occ.recID) {
			return o
		}
	}
	ex := ical.NewComponent(ical.CompEvent)
	for name, props := range ci.master.Props {
		switch name {
		case ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates:
			continue
		}
		ex.Props[name] = append([]ical.Prop(nil), props...)
	}
	setTimeProp(ex, ical.PropRecurrenceID, occ.recID, false)
	setTimeProp(ex, ical.PropDateTimeStart, occ.start, false)
	setTimeProp(ex, ical.PropDateTimeEnd, occ.end, false)
	ex.Props.Del(ical.PropDuration)
	it.cal.Children = append(it.cal.Children, ex)
	return ex
}

func opDeleteItem(c *requestCtx, req *node, w *xw) *soapFault {
	dt := req.attr("DeleteType")
	r := c.begin(w, "DeleteItem")
	for _, id := range itemIDNodes(req.kid("ItemIds")) {
		if r.injected() {
			continue
		}
		if dt == "" {
			r.fail("ErrorInvalidRequest")
			continue
		}
		it, occ, code := c.resolveItem(id)
		if code != "" {
			r.fail(code)
			continue
		}
		if it.kind == kindCalendar && !req.hasAttr("SendMeetingCancellations") {
			r.fail("ErrorSendMeetingCancellationsRequired")
			continue
		}
		if it.kind == kindTask && !req.hasAttr("AffectedTaskOccurrences") {
			r.fail("ErrorAffectedTaskOccurrencesRequired")
			continue
		}
		mb := it.folder.mb
		switch {
		case occ != nil && occ.id != "":
			// Deleting an occurrence adds an EXDATE to the master.
			ci := it.info()
			var kids []*ical.Component
			for _, ch := range it.cal.Children {
				if ch.Name == ical.CompEvent && ch.Props.Get(ical.PropRecurrenceID) != nil {
					if t, _, err := parseCalTime(ch.Props.Get(ical.PropRecurrenceID), ci.resolve, time.UTC); err == nil && t.Equal(occ.recID) {
						continue
					}
				}
				kids = append(kids, ch)
			}
			it.cal.Children = kids
			p := ical.NewProp(ical.PropExceptionDates)
			p.SetDateTime(occ.recID)
			ci.master.Props.Add(p)
			mb.touchLocked(it, []string{"calendar:Recurrence"})
		case dt == "MoveToDeletedItems" && !it.folder.isUnder("deleteditems"):
			mb.removeLocked(it)
			cp := *it
			cp.history = nil
			mb.insertLocked(mb.distinguished("deleteditems"), &cp)
		default:
			mb.removeLocked(it)
		}
		r.ok()
		r.done()
	}
	r.end()
	return nil
}

func opSyncFolderItems(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("ItemShape"))
	r := c.begin(w, "SyncFolderItems")
	defer r.end()
	if r.injected() {
		return nil
	}
	ids := folderIDNodes(req.kid("SyncFolderId"))
	if len(ids) == 0 {
		r.fail("ErrorInvalidRequest")
		return nil
	}
	f, code := c.resolveFolder(ids[0])
	if code != "" {
		if code == "ErrorFolderNotFound" {
			code = "ErrorSyncFolderNotFound"
		}
		r.fail(code)
		return nil
	}
	max, err := strconv.Atoi(req.kid("MaxChangesReturned").text())
	if err != nil || max < 1 || max > 512 {
		r.fail("ErrorInvalidRequest")
		return nil
	}
	since := int64(0)
	if st := req.kid("SyncState").text(); st != "" {
		var ok bool
		since, ok = c.s.parseSyncState(st, "i:"+f.id)
		if !ok {
			r.fail("ErrorInvalidSyncStateData")
			return nil
		}
	}
	ignore := map[string]bool{}
	for _, id := range req.kid("Ignore").kidsNamed("ItemId") {
		ignore[id.attr("Id")] = true
	}
	type chg struct {
		seq  int64
		kind string
		it   *item
		id   string
	}
	var changes []chg
	for _, it := range f.items {
		if it.lastSeq <= since || ignore[it.id] {
			continue
		}
		k := "Update"
		if it.createdSeq > since {
			k = "Create"
		}
		changes = append(changes, chg{it.lastSeq, k, it, it.id})
	}
	for _, t := range f.tombs {
		if t.deletedSeq > since && t.createdSeq <= since && !ignore[t.id] {
			changes = append(changes, chg{t.deletedSeq, "Delete", nil, t.id})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
	last := true
	newSeq := c.s.seq
	if len(changes) > max {
		changes, last = changes[:max], false
		newSeq = changes[max-1].seq
	}
	r.ok()
	w.leaf("m:SyncState", c.s.syncState("i:"+f.id, newSeq))
	w.leaf("m:IncludesLastItemInRange", boolStr[last])
	if len(changes) == 0 {
		w.empty("m:Changes")
	} else {
		w.open("m:Changes")
		s2 := sh
		s2.mime = false
		for _, ch := range changes {
			w.open("t:" + ch.kind)
			if ch.it != nil {
				c.writeItem(w, ch.it, s2, nil)
			} else {
				w.empty("t:ItemId", "Id", ch.id)
			}
			w.close("t:" + ch.kind)
		}
		w.close("m:Changes")
	}
	r.done()
	return nil
}

func (c *requestCtx) findAttachment(id string) (*item, *attachment) {
	for _, mb := range c.s.mailboxes {
		for _, it := range mb.items {
			for _, a := range it.atts {
				if a.id == id {
					return it, a
				}
			}
		}
	}
	return nil, nil
}

func opGetAttachment(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "GetAttachment")
	for _, id := range req.kid("AttachmentIds").kidsNamed("AttachmentId") {
		if r.injected("m:Attachments") {
			continue
		}
		_, a := c.findAttachment(id.attr("Id"))
		if a == nil {
			r.fail("ErrorItemNotFound", "m:Attachments")
			continue
		}
		r.ok()
		w.open("m:Attachments")
		w.open("t:FileAttachment")
		w.empty("t:AttachmentId", "Id", a.id)
		w.leaf("t:Name", a.name)
		w.leaf("t:ContentType", a.contentType)
		w.leaf("t:IsContactPhoto", boolStr[a.isPhoto])
		w.leaf("t:Content", base64.StdEncoding.EncodeToString(a.content))
		w.close("t:FileAttachment")
		w.close("m:Attachments")
		r.done()
	}
	r.end()
	return nil
}

func opCreateAttachment(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "CreateAttachment")
	defer r.end()
	it, _ := c.lookup(req.kid("ParentItemId").attr("Id"))
	for _, an := range req.kid("Attachments").all() {
		if r.injected("m:Attachments") {
			continue
		}
		if it == nil {
			r.fail("ErrorItemNotFound", "m:Attachments")
			continue
		}
		content, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(an.kid("Content").Text), ""))
		if err != nil || an.Local != "FileAttachment" {
			r.fail("ErrorInvalidRequest", "m:Attachments")
			continue
		}
		a := &attachment{id: c.s.newID(0x41), name: an.kid("Name").text(), contentType: an.kid("ContentType").text(), content: content,
			isPhoto: an.kid("IsContactPhoto").text() == "true"}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		it.atts = append(it.atts, a)
		it.folder.mb.touchLocked(it, []string{"item:Attachments"})
		r.ok()
		w.open("m:Attachments")
		w.open("t:FileAttachment")
		w.empty("t:AttachmentId", "Id", a.id, "RootItemId", it.id, "RootItemChangeKey", it.ck)
		w.close("t:FileAttachment")
		w.close("m:Attachments")
		r.done()
	}
	return nil
}

func opDeleteAttachment(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "DeleteAttachment")
	for _, id := range req.kid("AttachmentIds").kidsNamed("AttachmentId") {
		if r.injected() {
			continue
		}
		it, a := c.findAttachment(id.attr("Id"))
		if a == nil {
			r.fail("ErrorItemNotFound")
			continue
		}
		for i, x := range it.atts {
			if x == a {
				it.atts = append(it.atts[:i:i], it.atts[i+1:]...)
				break
			}
		}
		it.folder.mb.touchLocked(it, []string{"item:Attachments"})
		r.ok()
		w.empty("m:RootItemId", "RootItemId", it.id, "RootItemChangeKey", it.ck)
		r.done()
	}
	r.end()
	return nil
}
