package ewstest

import (
	"strconv"
	"strings"
)

// resolveFolder resolves a FolderId / DistinguishedFolderId element.
func (c *requestCtx) resolveFolder(n *node) (*folder, string) {
	if n == nil {
		return nil, "ErrorInvalidRequest"
	}
	switch n.Local {
	case "DistinguishedFolderId":
		mb := c.mb
		if addr := n.at("Mailbox", "EmailAddress").text(); addr != "" {
			mb = c.s.mailboxes[strings.ToLower(addr)]
			if mb == nil {
				return nil, "ErrorNonExistentMailbox"
			}
		}
		if f := mb.distinguished(n.attr("Id")); f != nil {
			return f, ""
		}
		return nil, "ErrorFolderNotFound"
	case "FolderId", "ParentFolderId":
		id := n.attr("Id")
		if f := c.mb.byID[id]; f != nil {
			return f, ""
		}
		for _, mb := range c.s.mailboxes {
			if f := mb.byID[id]; f != nil {
				return f, ""
			}
		}
		return nil, "ErrorFolderNotFound"
	}
	return nil, "ErrorInvalidRequest"
}

func folderIDNodes(n *node) []*node {
	var out []*node
	for _, k := range n.all() {
		if k.Local == "FolderId" || k.Local == "DistinguishedFolderId" {
			out = append(out, k)
		}
	}
	return out
}

// folderExt derives folder extended properties DavMail reads.
func folderExt(f *folder, uri *node) (string, bool) {
	switch extKey(uri) {
	case "tag:670a", "tag:3008": // PR_LOCAL_COMMIT_TIME_MAX, PR_LAST_MODIFICATION_TIME
		return ewsTime(f.modified), true
	case "tag:3613": // PR_CONTAINER_CLASS
		return f.class, f.class != ""
	case "tag:360a": // PR_SUBFOLDERS
		return boolStr[len(f.mb.childFolders(f, false)) > 0], true
	case "tag:3602": // PR_CONTENT_COUNT
		return strconv.Itoa(len(f.items)), true
	case "tag:3603": // PR_CONTENT_UNREAD
		return "0", true
	case "tag:3001": // PR_DISPLAY_NAME
		return f.name, true
	case "tag:10f3": // PR_URL_COMP_NAME
		return f.name, true
	case "tag:6751", "tag:6752":
		return "0", true
	}
	return "", false
}

func (c *requestCtx) writeFolder(w *xw, f *folder, sh shape) {
	el := "t:" + f.elementName()
	w.open(el)
	w.empty("t:FolderId", "Id", f.id, "ChangeKey", f.ck)
	all := sh.base == "AllProperties"
	if f.parent != nil && (all || sh.fields["folder:ParentFolderId"]) {
		w.empty("t:ParentFolderId", "Id", f.parent.id, "ChangeKey", "AQAAAA==")
	}
	if f.class != "" && (all || sh.fields["folder:FolderClass"]) {
		w.leaf("t:FolderClass", f.class)
	}
	if sh.want("folder:DisplayName", true) {
		w.leaf("t:DisplayName", f.name)
	}
	if sh.want("folder:TotalCount", true) {
		w.leaf("t:TotalCount", strconv.Itoa(len(f.items)))
	}
	if sh.want("folder:ChildFolderCount", true) {
		w.leaf("t:ChildFolderCount", strconv.Itoa(len(f.mb.childFolders(f, false))))
	}
	for _, u := range sh.ext {
		if v, ok := folderExt(f, u); ok {
			w.open("t:ExtendedProperty")
			w.copyNode("t:", u)
			w.leaf("t:Value", v)
			w.close("t:ExtendedProperty")
		}
	}
	if all || sh.fields["folder:EffectiveRights"] {
		w.open("t:EffectiveRights")
		for _, r := range []string{"CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify", "Read"} {
			w.leaf("t:"+r, "true")
		}
		w.close("t:EffectiveRights")
	}
	if el == "t:Folder" && sh.want("folder:UnreadCount", true) && f.distinguished != "root" {
		w.leaf("t:UnreadCount", "0")
	}
	w.close(el)
}

func opGetFolder(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("FolderShape"))
	r := c.begin(w, "GetFolder")
	for _, id := range folderIDNodes(req.kid("FolderIds")) {
		if r.injected("m:Folders") {
			continue
		}
		f, code := c.resolveFolder(id)
		if code != "" {
			r.fail(code, "m:Folders")
			continue
		}
		r.ok()
		w.open("m:Folders")
		c.writeFolder(w, f, sh)
		w.close("m:Folders")
		r.done()
	}
	r.end()
	return nil
}

// paging reads IndexedPage*View: max, offset, from-end.
type paging struct {
	set    bool
	max    int
	offset int
	end    bool
}

func parsePaging(n *node) paging {
	if n == nil {
		return paging{}
	}
	p := paging{set: true, max: -1}
	if v := n.attr("MaxEntriesReturned"); v != "" {
		p.max, _ = strconv.Atoi(v)
	}
	p.offset, _ = strconv.Atoi(n.attr("Offset"))
	p.end = n.attr("BasePoint") == "End"
	return p
}

// page slices n entries; returns [from, to) and the RootFolder attributes.
func (p paging) page(n int) (from, to int, attrs []string) {
	from, to = 0, n
	if p.set {
		if p.end {
			to = n - p.offset
			if to < 0 {
				to = 0
			}
			from = to
			if p.max >= 0 {
				from = to - p.max
			}
			if from < 0 {
				from = 0
			}
		} else {
			from = p.offset
			if from > n {
				from = n
			}
			to = n
			if p.max >= 0 && from+p.max < n {
				to = from + p.max
			}
		}
	}
	last := to >= n
	if p.end {
		last = from <= 0
	}
	if p.set {
		next := to
		if p.end {
			next = n - from
		}
		attrs = append(attrs, "IndexedPagingOffset", strconv.Itoa(next))
	}
	attrs = append(attrs, "TotalItemsInView", strconv.Itoa(n), "IncludesLastItemInRange", boolStr[last])
	return from, to, attrs
}

func opFindFolder(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("FolderShape"))
	deep := req.attr("Traversal") == "Deep"
	pg := parsePaging(req.kid("IndexedPageFolderView"))
	restr := req.kid("Restriction")
	r := c.begin(w, "FindFolder")
	for _, id := range folderIDNodes(req.kid("ParentFolderIds")) {
		if r.injected("m:RootFolder") {
			continue
		}
		parent, code := c.resolveFolder(id)
		if code != "" {
			r.fail(code)
			continue
		}
		var list []*folder
		for _, f := range parent.mb.childFolders(parent, deep) {
			if restr != nil && len(restr.Kids) > 0 && !evalRestriction(restr.Kids[0], folderGetter(f)) {
				continue
			}
			list = append(list, f)
		}
		from, to, attrs := pg.page(len(list))
		r.ok()
		w.open("m:RootFolder", attrs...)
		w.open("t:Folders")
		for _, f := range list[from:to] {
			c.writeFolder(w, f, sh)
		}
		w.close("t:Folders")
		w.close("m:RootFolder")
		r.done()
	}
	r.end()
	return nil
}

func folderGetter(f *folder) getter {
	return func(uri *node) (string, bool) {
		if uri.Local == "ExtendedFieldURI" {
			return folderExt(f, uri)
		}
		switch uri.attr("FieldURI") {
		case "folder:DisplayName":
			return f.name, true
		case "folder:FolderClass":
			return f.class, f.class != ""
		case "folder:TotalCount":
			return strconv.Itoa(len(f.items)), true
		}
		return "", false
	}
}

func opCreateFolder(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "CreateFolder")
	parentNodes := folderIDNodes(req.kid("ParentFolderId"))
	for _, fn := range req.kid("Folders").all() {
		if r.injected("m:Folders") {
			continue
		}
		if len(parentNodes) == 0 {
			r.fail("ErrorInvalidRequest", "m:Folders")
			continue
		}
		parent, code := c.resolveFolder(parentNodes[0])
		if code != "" {
			r.fail(code, "m:Folders")
			continue
		}
		name := fn.kid("DisplayName").text()
		dup := false
		for _, ch := range parent.mb.childFolders(parent, false) {
			if strings.EqualFold(ch.name, name) {
				dup = true
			}
		}
		if dup {
			r.fail("ErrorFolderExists", "m:Folders")
			continue
		}
		class := fn.kid("FolderClass").text()
		if class == "" {
			class = map[string]string{"CalendarFolder": "IPF.Appointment", "ContactsFolder": "IPF.Contact", "TasksFolder": "IPF.Task", "Folder": "IPF.Note"}[fn.Local]
		}
		f := parent.mb.addFolderLocked(parent, name, class)
		r.ok()
		w.open("m:Folders")
		w.open("t:" + f.elementName())
		w.empty("t:FolderId", "Id", f.id, "ChangeKey", f.ck)
		w.close("t:" + f.elementName())
		w.close("m:Folders")
		r.done()
	}
	r.end()
	return nil
}

func opDeleteFolder(c *requestCtx, req *node, w *xw) *soapFault {
	r := c.begin(w, "DeleteFolder")
	for _, id := range folderIDNodes(req.kid("FolderIds")) {
		if r.injected() {
			continue
		}
		f, code := c.resolveFolder(id)
		if code != "" {
			r.fail(code)
			continue
		}
		if f.distinguished != "" {
			r.fail("ErrorDeleteDistinguishedFolder")
			continue
		}
		f.mb.deleteFolderLocked(f)
		r.ok()
		r.done()
	}
	r.end()
	return nil
}

func (mb *Mailbox) deleteFolderLocked(f *folder) {
	for _, ch := range mb.childFolders(f, false) {
		mb.deleteFolderLocked(ch)
	}
	for _, it := range append([]*item(nil), f.items...) {
		mb.removeLocked(it)
	}
	for i, x := range mb.folders {
		if x == f {
			mb.folders = append(mb.folders[:i:i], mb.folders[i+1:]...)
			break
		}
	}
	delete(mb.byID, f.id)
	mb.ftombs = append(mb.ftombs, tomb{id: f.id, createdSeq: f.createdSeq, deletedSeq: mb.s.bump()})
}

func opSyncFolderHierarchy(c *requestCtx, req *node, w *xw) *soapFault {
	sh := parseShape(req.kid("FolderShape"))
	r := c.begin(w, "SyncFolderHierarchy")
	defer r.end()
	if r.injected() {
		return nil
	}
	root := c.mb.distinguished("msgfolderroot")
	if ids := folderIDNodes(req.kid("SyncFolderId")); len(ids) > 0 {
		f, code := c.resolveFolder(ids[0])
		if code != "" {
			r.fail(code)
			return nil
		}
		root = f
	}
	since := int64(0)
	if st := req.kid("SyncState").text(); st != "" {
		var ok bool
		since, ok = c.s.parseSyncState(st, "h:"+root.id)
		if !ok {
			r.fail("ErrorInvalidSyncStateData")
			return nil
		}
	}
	r.ok()
	w.leaf("m:SyncState", c.s.syncState("h:"+root.id, c.s.seq))
	w.leaf("m:IncludesLastFolderInRange", "true")
	w.open("m:Changes")
	for _, f := range root.mb.childFolders(root, true) {
		switch {
		case f.createdSeq > since:
			w.open("t:Create")
			c.writeFolder(w, f, sh)
			w.close("t:Create")
		case f.lastSeq > since:
			w.open("t:Update")
			c.writeFolder(w, f, sh)
			w.close("t:Update")
		}
	}
	for _, t := range root.mb.ftombs {
		if t.deletedSeq > since && t.createdSeq <= since {
			w.open("t:Delete")
			w.empty("t:FolderId", "Id", t.id)
			w.close("t:Delete")
		}
	}
	w.close("m:Changes")
	r.done()
	return nil
}
