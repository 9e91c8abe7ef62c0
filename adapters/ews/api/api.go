// Package api holds the EWS (Exchange Web Services) wire types: the SOAP
// envelope, the request bodies davgate sends and the responses it reads.
//
// Encoding: requests are marshalled with literal prefixes: "soap:" for the
// envelope, "t:" for header elements and "m:" for elements of the messages
// namespace; soap:Body declares the types namespace as the default, so the
// types shared by requests and responses (CalendarItem, ItemId,
// ExtendedProperty, ...) carry unprefixed local names and land in the
// types namespace. Decoding matches local names only (encoding/xml matches
// a tag without a namespace against any namespace), which absorbs the
// prefix mix of real servers (s:/soap:, m:RootFolder/t:Items).
//
// Struct fields follow the XSD sequence order (EWS validates it: a wrong
// order is an ErrorSchemaValidation fault).
package api

import (
	"encoding/xml"
	"time"
)

// Namespaces.
const (
	NSSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// ---------------------------------------------------------------- envelope

// Envelope is an outgoing SOAP 1.1 envelope.
type Envelope struct {
	XMLName xml.Name `xml:"soap:Envelope"`
	Soap    string   `xml:"xmlns:soap,attr"`
	T       string   `xml:"xmlns:t,attr"`
	M       string   `xml:"xmlns:m,attr"`
	Header  Header   `xml:"soap:Header"`
	Body    Body     `xml:"soap:Body"`
}

// Body wraps one request; it makes the types namespace the default.
type Body struct {
	Default string `xml:"xmlns,attr"`
	Request any
}

// Header holds the SOAP headers davgate sends.
type Header struct {
	RequestServerVersion  RequestServerVersion   `xml:"t:RequestServerVersion"`
	ExchangeImpersonation *ExchangeImpersonation `xml:"t:ExchangeImpersonation,omitempty"`
	TimeZoneContext       *TimeZoneContext       `xml:"t:TimeZoneContext,omitempty"`
}

// RequestServerVersion names the schema version the request targets.
type RequestServerVersion struct {
	Version string `xml:"Version,attr"`
}

// ExchangeImpersonation makes the call act as another mailbox.
type ExchangeImpersonation struct {
	SmtpAddress string `xml:"t:ConnectingSID>t:SmtpAddress"`
}

// TimeZoneContext sets the time zone of unqualified times in a request.
type TimeZoneContext struct {
	Definition struct {
		ID string `xml:"Id,attr"`
	} `xml:"t:TimeZoneDefinition"`
}

// NewEnvelope wraps req with the given headers.
func NewEnvelope(h Header, req any) *Envelope {
	return &Envelope{Soap: NSSoap, T: NSTypes, M: NSMessages, Header: h, Body: Body{Default: NSTypes, Request: req}}
}

// ResponseEnvelope is an incoming SOAP envelope.
type ResponseEnvelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Header  struct {
		ServerVersionInfo *ServerVersionInfo `xml:"ServerVersionInfo"`
	} `xml:"Header"`
	Body struct {
		Fault    *Fault   `xml:"Fault"`
		Response Response `xml:",any"`
	} `xml:"Body"`
}

// ServerVersionInfo is the server's version header.
type ServerVersionInfo struct {
	MajorVersion     int    `xml:"MajorVersion,attr"`
	MinorVersion     int    `xml:"MinorVersion,attr"`
	MajorBuildNumber int    `xml:"MajorBuildNumber,attr"`
	MinorBuildNumber int    `xml:"MinorBuildNumber,attr"`
	Version          string `xml:"Version,attr"`
}

// Fault is a SOAP fault (schema errors, ErrorServerBusy throttling).
type Fault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		ResponseCode string     `xml:"ResponseCode"`
		Message      string     `xml:"Message"`
		MessageXML   MessageXML `xml:"MessageXml"`
	} `xml:"detail"`
}

// MessageXML carries machine-readable hints (BackOffMilliseconds).
type MessageXML struct {
	Values []NamedValue `xml:"Value"`
}

// NamedValue is a t:Value with a Name attribute.
type NamedValue struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

// Get returns the value named name, or "".
func (m MessageXML) Get(name string) string {
	for _, v := range m.Values {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// Response is the body of any operation's response.
type Response struct {
	XMLName  xml.Name
	Messages struct {
		List []ResponseMessage `xml:",any"`
	} `xml:"ResponseMessages"`
	// GetUserAvailability answers without ResponseMessages.
	FreeBusy []FreeBusyResponse `xml:"FreeBusyResponseArray>FreeBusyResponse"`
}

// ResponseMessage is one per-id answer; which payload fields are set
// depends on the operation.
type ResponseMessage struct {
	XMLName            xml.Name
	ResponseClass      string     `xml:"ResponseClass,attr"`
	MessageText        string     `xml:"MessageText"`
	ResponseCode       string     `xml:"ResponseCode"`
	DescriptiveLinkKey int        `xml:"DescriptiveLinkKey"`
	MessageXML         MessageXML `xml:"MessageXml"`

	// GetFolder
	Folders *Folders `xml:"Folders"`
	// FindItem, FindFolder
	RootFolder *RootFolder `xml:"RootFolder"`
	// GetItem, CreateItem, UpdateItem
	Items *Items `xml:"Items"`
	// UpdateItem
	ConflictResults *struct {
		Count int `xml:"Count"`
	} `xml:"ConflictResults"`
	// SyncFolderItems
	SyncState               string   `xml:"SyncState"`
	IncludesLastItemInRange *bool    `xml:"IncludesLastItemInRange"`
	Changes                 *Changes `xml:"Changes"`
	// GetServerTimeZones
	TimeZoneDefinitions []TimeZoneDefinition `xml:"TimeZoneDefinitions>TimeZoneDefinition"`
	// GetAttachment, CreateAttachment
	Attachments *Attachments `xml:"Attachments"`
}

// RootFolder is the FindItem/FindFolder result page.
type RootFolder struct {
	IndexedPagingOffset     int      `xml:"IndexedPagingOffset,attr"`
	TotalItemsInView        int      `xml:"TotalItemsInView,attr"`
	IncludesLastItemInRange bool     `xml:"IncludesLastItemInRange,attr"`
	Items                   *Items   `xml:"Items"`
	Folders                 *Folders `xml:"Folders"`
}

// Changes lists SyncFolderItems changes in order.
type Changes struct {
	List []Change `xml:",any"`
}

// Change is a t:Create, t:Update, t:Delete or t:ReadFlagChange.
type Change struct {
	XMLName      xml.Name
	CalendarItem *CalendarItem `xml:"CalendarItem"`
	Contact      *Contact      `xml:"Contact"`
	Task         *Task         `xml:"Task"`
	Item         *Item         `xml:"Item"`
	ItemID       *ItemID       `xml:"ItemId"` // Delete, ReadFlagChange
}

// Kind returns "Create", "Update", "Delete" or "ReadFlagChange".
func (c Change) Kind() string { return c.XMLName.Local }

// ID returns the changed item's id, whatever the item type.
func (c Change) ID() ItemID {
	switch {
	case c.ItemID != nil:
		return *c.ItemID
	case c.CalendarItem != nil && c.CalendarItem.ItemID != nil:
		return *c.CalendarItem.ItemID
	case c.Contact != nil && c.Contact.ItemID != nil:
		return *c.Contact.ItemID
	case c.Task != nil && c.Task.ItemID != nil:
		return *c.Task.ItemID
	case c.Item != nil && c.Item.ItemID != nil:
		return *c.Item.ItemID
	}
	return ItemID{}
}

// ---------------------------------------------------------------- common types

// ItemID identifies an item version: ChangeKey changes on every write.
type ItemID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr,omitempty"`
}

// FolderID identifies a folder.
type FolderID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr,omitempty"`
}

// DistinguishedFolderID names a well-known folder ("calendar"), optionally
// in another mailbox (delegate access).
type DistinguishedFolderID struct {
	ID      string   `xml:"Id,attr"`
	Mailbox *Mailbox `xml:"Mailbox,omitempty"`
}

// FolderRef is one of FolderId or DistinguishedFolderId.
type FolderRef struct {
	FolderID      *FolderID              `xml:"FolderId,omitempty"`
	Distinguished *DistinguishedFolderID `xml:"DistinguishedFolderId,omitempty"`
}

// FolderRefs is a list of folder ids (FolderIds, ParentFolderIds).
type FolderRefs struct {
	FolderIDs     []FolderID              `xml:"FolderId,omitempty"`
	Distinguished []DistinguishedFolderID `xml:"DistinguishedFolderId,omitempty"`
}

// Refs turns one FolderRef into a list.
func (r FolderRef) Refs() FolderRefs {
	var l FolderRefs
	if r.FolderID != nil {
		l.FolderIDs = append(l.FolderIDs, *r.FolderID)
	}
	if r.Distinguished != nil {
		l.Distinguished = append(l.Distinguished, *r.Distinguished)
	}
	return l
}

// Mailbox is an EmailAddressType.
type Mailbox struct {
	Name         string `xml:"Name,omitempty"`
	EmailAddress string `xml:"EmailAddress,omitempty"`
	RoutingType  string `xml:"RoutingType,omitempty"`
	MailboxType  string `xml:"MailboxType,omitempty"`
}

// FieldURI is a typed property path ("calendar:Start").
type FieldURI struct {
	FieldURI string `xml:"FieldURI,attr"`
}

// ExtendedFieldURI is a MAPI property path.
type ExtendedFieldURI struct {
	DistinguishedPropertySetID string `xml:"DistinguishedPropertySetId,attr,omitempty"`
	PropertySetID              string `xml:"PropertySetId,attr,omitempty"`
	PropertyTag                string `xml:"PropertyTag,attr,omitempty"`
	PropertyName               string `xml:"PropertyName,attr,omitempty"`
	PropertyID                 string `xml:"PropertyId,attr,omitempty"`
	PropertyType               string `xml:"PropertyType,attr"`
}

// Same reports whether two paths name the same property.
func (e ExtendedFieldURI) Same(o ExtendedFieldURI) bool {
	return e.DistinguishedPropertySetID == o.DistinguishedPropertySetID && e.PropertySetID == o.PropertySetID &&
		e.PropertyTag == o.PropertyTag && e.PropertyName == o.PropertyName && e.PropertyID == o.PropertyID
}

// ExtendedProperty is a MAPI property value.
type ExtendedProperty struct {
	ExtendedFieldURI ExtendedFieldURI `xml:"ExtendedFieldURI"`
	Value            string           `xml:"Value,omitempty"`
}

// MimeContent is base64 MIME (iCalendar for calendar items).
type MimeContent struct {
	CharacterSet string `xml:"CharacterSet,attr,omitempty"`
	Value        string `xml:",chardata"`
}

// BodyContent is an item body.
type BodyContent struct {
	BodyType string `xml:"BodyType,attr"`
	Value    string `xml:",chardata"`
}

// Attendee is a meeting attendee.
type Attendee struct {
	Mailbox      Mailbox `xml:"Mailbox"`
	ResponseType string  `xml:"ResponseType,omitempty"`
}

// Attendees is a list of attendees.
type Attendees struct {
	List []Attendee `xml:"Attendee"`
}

// Occurrences lists modified occurrences.
type Occurrences struct {
	List []OccurrenceInfo `xml:"Occurrence"`
}

// DeletedOccurrences lists deleted occurrences.
type DeletedOccurrences struct {
	List []DeletedOccurrence `xml:"DeletedOccurrence"`
}

// Entries is a keyed dictionary (EmailAddresses, PhoneNumbers).
type Entries struct {
	List []Entry `xml:"Entry"`
}

// PhysicalAddresses is the keyed address dictionary.
type PhysicalAddresses struct {
	List []PhysicalAddress `xml:"Entry"`
}

// Modified returns the modified occurrences (nil-safe).
func (c *CalendarItem) Modified() []OccurrenceInfo {
	if c.ModifiedOccurrences == nil {
		return nil
	}
	return c.ModifiedOccurrences.List
}

// Deleted returns the deleted occurrences (nil-safe).
func (c *CalendarItem) Deleted() []DeletedOccurrence {
	if c.DeletedOccurrences == nil {
		return nil
	}
	return c.DeletedOccurrences.List
}

// AllAttendees returns required and optional attendees (nil-safe).
func (c *CalendarItem) AllAttendees() (required, optional []Attendee) {
	if c.RequiredAttendees != nil {
		required = c.RequiredAttendees.List
	}
	if c.OptionalAttendees != nil {
		optional = c.OptionalAttendees.List
	}
	return
}

// OccurrenceInfo describes a modified occurrence of a recurring master.
type OccurrenceInfo struct {
	ItemID        ItemID `xml:"ItemId"`
	Start         string `xml:"Start"`
	End           string `xml:"End"`
	OriginalStart string `xml:"OriginalStart"`
}

// DeletedOccurrence names a deleted occurrence by its start.
type DeletedOccurrence struct {
	Start string `xml:"Start"`
}

// Recurrence is an EWS RecurrenceType: one pattern and one range.
type Recurrence struct {
	RelativeYearly  *RelativeYearly  `xml:"RelativeYearlyRecurrence,omitempty"`
	AbsoluteYearly  *AbsoluteYearly  `xml:"AbsoluteYearlyRecurrence,omitempty"`
	RelativeMonthly *RelativeMonthly `xml:"RelativeMonthlyRecurrence,omitempty"`
	AbsoluteMonthly *AbsoluteMonthly `xml:"AbsoluteMonthlyRecurrence,omitempty"`
	Weekly          *Weekly          `xml:"WeeklyRecurrence,omitempty"`
	Daily           *Daily           `xml:"DailyRecurrence,omitempty"`
	NoEnd           *RangeNoEnd      `xml:"NoEndRecurrence,omitempty"`
	EndDate         *RangeEndDate    `xml:"EndDateRecurrence,omitempty"`
	Numbered        *RangeNumbered   `xml:"NumberedRecurrence,omitempty"`
}

// RelativeYearly: "the second Tuesday of March".
type RelativeYearly struct {
	DaysOfWeek     string `xml:"DaysOfWeek"`
	DayOfWeekIndex string `xml:"DayOfWeekIndex"`
	Month          string `xml:"Month"`
}

// AbsoluteYearly: "March 3".
type AbsoluteYearly struct {
	DayOfMonth int    `xml:"DayOfMonth"`
	Month      string `xml:"Month"`
}

// RelativeMonthly: "every 2 months on the last Friday".
type RelativeMonthly struct {
	Interval       int    `xml:"Interval"`
	DaysOfWeek     string `xml:"DaysOfWeek"`
	DayOfWeekIndex string `xml:"DayOfWeekIndex"`
}

// AbsoluteMonthly: "every month on the 3rd".
type AbsoluteMonthly struct {
	Interval   int `xml:"Interval"`
	DayOfMonth int `xml:"DayOfMonth"`
}

// Weekly: "every 2 weeks on Monday Wednesday".
type Weekly struct {
	Interval       int    `xml:"Interval"`
	DaysOfWeek     string `xml:"DaysOfWeek"`
	FirstDayOfWeek string `xml:"FirstDayOfWeek,omitempty"`
}

// Daily: "every 3 days".
type Daily struct {
	Interval int `xml:"Interval"`
}

// RangeNoEnd is an endless range.
type RangeNoEnd struct {
	StartDate string `xml:"StartDate"`
}

// RangeEndDate ends on a date.
type RangeEndDate struct {
	StartDate string `xml:"StartDate"`
	EndDate   string `xml:"EndDate"`
}

// RangeNumbered ends after a count.
type RangeNumbered struct {
	StartDate           string `xml:"StartDate"`
	NumberOfOccurrences int    `xml:"NumberOfOccurrences"`
}

// EffectiveRights are the caller's rights on an item or folder.
type EffectiveRights struct {
	CreateAssociated bool `xml:"CreateAssociated"`
	CreateContents   bool `xml:"CreateContents"`
	CreateHierarchy  bool `xml:"CreateHierarchy"`
	Delete           bool `xml:"Delete"`
	Modify           bool `xml:"Modify"`
	Read             bool `xml:"Read"`
}

// CalendarItem is t:CalendarItem; fields in XSD order (ItemType, then
// CalendarItemType). Pointers and omitempty keep requests minimal.
type CalendarItem struct {
	MimeContent                *MimeContent        `xml:"MimeContent,omitempty"`
	ItemID                     *ItemID             `xml:"ItemId,omitempty"`
	ParentFolderID             *FolderID           `xml:"ParentFolderId,omitempty"`
	ItemClass                  string              `xml:"ItemClass,omitempty"`
	Subject                    *string             `xml:"Subject,omitempty"`
	Sensitivity                string              `xml:"Sensitivity,omitempty"`
	Body                       *BodyContent        `xml:"Body,omitempty"`
	DateTimeReceived           string              `xml:"DateTimeReceived,omitempty"`
	Size                       int                 `xml:"Size,omitempty"`
	Categories                 *[]string           `xml:"Categories>String,omitempty"`
	Importance                 string              `xml:"Importance,omitempty"`
	DateTimeCreated            string              `xml:"DateTimeCreated,omitempty"`
	ReminderIsSet              *bool               `xml:"ReminderIsSet,omitempty"`
	ReminderMinutesBeforeStart string              `xml:"ReminderMinutesBeforeStart,omitempty"`
	ExtendedProperty           []ExtendedProperty  `xml:"ExtendedProperty,omitempty"`
	EffectiveRights            *EffectiveRights    `xml:"EffectiveRights,omitempty"`
	LastModifiedTime           string              `xml:"LastModifiedTime,omitempty"`
	UID                        string              `xml:"UID,omitempty"`
	RecurrenceID               string              `xml:"RecurrenceId,omitempty"`
	DateTimeStamp              string              `xml:"DateTimeStamp,omitempty"`
	Start                      string              `xml:"Start,omitempty"`
	End                        string              `xml:"End,omitempty"`
	OriginalStart              string              `xml:"OriginalStart,omitempty"`
	IsAllDayEvent              *bool               `xml:"IsAllDayEvent,omitempty"`
	LegacyFreeBusyStatus       string              `xml:"LegacyFreeBusyStatus,omitempty"`
	Location                   *string             `xml:"Location,omitempty"`
	IsMeeting                  *bool               `xml:"IsMeeting,omitempty"`
	IsCancelled                *bool               `xml:"IsCancelled,omitempty"`
	IsRecurring                *bool               `xml:"IsRecurring,omitempty"`
	CalendarItemType           string              `xml:"CalendarItemType,omitempty"`
	MyResponseType             string              `xml:"MyResponseType,omitempty"`
	Organizer                  *Attendee           `xml:"Organizer,omitempty"`
	RequiredAttendees          *Attendees          `xml:"RequiredAttendees,omitempty"`
	OptionalAttendees          *Attendees          `xml:"OptionalAttendees,omitempty"`
	Duration                   string              `xml:"Duration,omitempty"`
	TimeZone                   string              `xml:"TimeZone,omitempty"`
	AppointmentSequenceNumber  string              `xml:"AppointmentSequenceNumber,omitempty"`
	Recurrence                 *Recurrence         `xml:"Recurrence,omitempty"`
	FirstOccurrence            *OccurrenceInfo     `xml:"FirstOccurrence,omitempty"`
	LastOccurrence             *OccurrenceInfo     `xml:"LastOccurrence,omitempty"`
	ModifiedOccurrences        *Occurrences        `xml:"ModifiedOccurrences,omitempty"`
	DeletedOccurrences         *DeletedOccurrences `xml:"DeletedOccurrences,omitempty"`
	StartTimeZone              *TimeZoneRef        `xml:"StartTimeZone,omitempty"`
	EndTimeZone                *TimeZoneRef        `xml:"EndTimeZone,omitempty"`
}

// TimeZoneRef names a Windows time zone (StartTimeZone/EndTimeZone).
type TimeZoneRef struct {
	ID   string `xml:"Id,attr,omitempty"`
	Name string `xml:"Name,attr,omitempty"`
}

// Extended returns the value of the extended property p, if present.
func (c *CalendarItem) Extended(p ExtendedFieldURI) (string, bool) {
	return findExtended(c.ExtendedProperty, p)
}

func findExtended(list []ExtendedProperty, p ExtendedFieldURI) (string, bool) {
	for _, e := range list {
		if e.ExtendedFieldURI.Same(p) {
			return e.Value, true
		}
	}
	return "", false
}

// Contact is t:Contact (ItemType then ContactItemType, in XSD order).
type Contact struct {
	MimeContent        *MimeContent       `xml:"MimeContent,omitempty"`
	ItemID             *ItemID            `xml:"ItemId,omitempty"`
	ParentFolderID     *FolderID          `xml:"ParentFolderId,omitempty"`
	ItemClass          string             `xml:"ItemClass,omitempty"`
	Subject            string             `xml:"Subject,omitempty"`
	Body               *BodyContent       `xml:"Body,omitempty"`
	Attachments        *Attachments       `xml:"Attachments,omitempty"`
	Categories         *[]string          `xml:"Categories>String,omitempty"`
	ExtendedProperty   []ExtendedProperty `xml:"ExtendedProperty,omitempty"`
	LastModifiedTime   string             `xml:"LastModifiedTime,omitempty"`
	FileAs             string             `xml:"FileAs,omitempty"`
	DisplayName        string             `xml:"DisplayName,omitempty"`
	GivenName          string             `xml:"GivenName,omitempty"`
	Initials           string             `xml:"Initials,omitempty"`
	MiddleName         string             `xml:"MiddleName,omitempty"`
	Nickname           string             `xml:"Nickname,omitempty"`
	CompanyName        string             `xml:"CompanyName,omitempty"`
	EmailAddresses     *Entries           `xml:"EmailAddresses,omitempty"`
	PhysicalAddresses  *PhysicalAddresses `xml:"PhysicalAddresses,omitempty"`
	PhoneNumbers       *Entries           `xml:"PhoneNumbers,omitempty"`
	Birthday           string             `xml:"Birthday,omitempty"`
	BusinessHomePage   string             `xml:"BusinessHomePage,omitempty"`
	Department         string             `xml:"Department,omitempty"`
	Generation         string             `xml:"Generation,omitempty"`
	ImAddresses        *Entries           `xml:"ImAddresses,omitempty"`
	JobTitle           string             `xml:"JobTitle,omitempty"`
	Surname            string             `xml:"Surname,omitempty"`
	WeddingAnniversary string             `xml:"WeddingAnniversary,omitempty"`
	HasPicture         *bool              `xml:"HasPicture,omitempty"`
}

// Extended returns the value of the extended property p, if present.
func (c *Contact) Extended(p ExtendedFieldURI) (string, bool) {
	return findExtended(c.ExtendedProperty, p)
}

// DistributionList is t:DistributionList (a contact group).
type DistributionList struct {
	ItemID           *ItemID            `xml:"ItemId,omitempty"`
	ItemClass        string             `xml:"ItemClass,omitempty"`
	Subject          string             `xml:"Subject,omitempty"`
	Body             *BodyContent       `xml:"Body,omitempty"`
	Categories       *[]string          `xml:"Categories>String,omitempty"`
	ExtendedProperty []ExtendedProperty `xml:"ExtendedProperty,omitempty"`
	LastModifiedTime string             `xml:"LastModifiedTime,omitempty"`
	DisplayName      string             `xml:"DisplayName,omitempty"`
	Members          *Members           `xml:"Members,omitempty"`
}

// Extended returns the value of the extended property p, if present.
func (d *DistributionList) Extended(p ExtendedFieldURI) (string, bool) {
	return findExtended(d.ExtendedProperty, p)
}

// Members lists a distribution list's members.
type Members struct {
	List []Member `xml:"Member"`
}

// Member is one distribution list member.
type Member struct {
	Key     string  `xml:"Key,attr,omitempty"`
	Mailbox Mailbox `xml:"Mailbox"`
	Status  string  `xml:"Status,omitempty"`
}

// Entry is a keyed dictionary entry (EmailAddress1, MobilePhone, ...).
type Entry struct {
	Key   string `xml:"Key,attr"`
	Value string `xml:",chardata"`
}

// PhysicalAddress is a keyed postal address.
type PhysicalAddress struct {
	Key             string `xml:"Key,attr"`
	Street          string `xml:"Street,omitempty"`
	City            string `xml:"City,omitempty"`
	State           string `xml:"State,omitempty"`
	CountryOrRegion string `xml:"CountryOrRegion,omitempty"`
	PostalCode      string `xml:"PostalCode,omitempty"`
}

// Attachments lists an item's attachments.
type Attachments struct {
	Files []FileAttachment `xml:"FileAttachment"`
}

// FileAttachment is t:FileAttachment.
type FileAttachment struct {
	AttachmentID   *AttachmentID `xml:"AttachmentId,omitempty"`
	Name           string        `xml:"Name,omitempty"`
	ContentType    string        `xml:"ContentType,omitempty"`
	Size           int           `xml:"Size,omitempty"`
	IsContactPhoto bool          `xml:"IsContactPhoto,omitempty"`
	Content        string        `xml:"Content,omitempty"`
}

// AttachmentID identifies an attachment.
type AttachmentID struct {
	ID string `xml:"Id,attr"`
}

// Task is t:Task (ItemType then TaskType, in XSD order).
type Task struct {
	ItemID           *ItemID            `xml:"ItemId,omitempty"`
	ItemClass        string             `xml:"ItemClass,omitempty"`
	Subject          string             `xml:"Subject,omitempty"`
	Body             *BodyContent       `xml:"Body,omitempty"`
	Categories       *[]string          `xml:"Categories>String,omitempty"`
	Importance       string             `xml:"Importance,omitempty"`
	ExtendedProperty []ExtendedProperty `xml:"ExtendedProperty,omitempty"`
	LastModifiedTime string             `xml:"LastModifiedTime,omitempty"`
	CompleteDate     string             `xml:"CompleteDate,omitempty"`
	DueDate          string             `xml:"DueDate,omitempty"`
	PercentComplete  string             `xml:"PercentComplete,omitempty"`
	StartDate        string             `xml:"StartDate,omitempty"`
	Status           string             `xml:"Status,omitempty"`
}

// Extended returns the value of the extended property p, if present.
func (t *Task) Extended(p ExtendedFieldURI) (string, bool) {
	return findExtended(t.ExtendedProperty, p)
}

// Item is a generic t:Item.
type Item struct {
	ItemID    *ItemID `xml:"ItemId,omitempty"`
	ItemClass string  `xml:"ItemClass,omitempty"`
	Subject   string  `xml:"Subject,omitempty"`
}

// Items is a list of items of any type.
type Items struct {
	CalendarItems []CalendarItem     `xml:"CalendarItem,omitempty"`
	Contacts      []Contact          `xml:"Contact,omitempty"`
	DistLists     []DistributionList `xml:"DistributionList,omitempty"`
	Tasks         []Task             `xml:"Task,omitempty"`
	Items         []Item             `xml:"Item,omitempty"`
}

// Folder is any folder type (Folder, CalendarFolder, ContactsFolder, ...).
type Folder struct {
	XMLName          xml.Name
	FolderID         *FolderID          `xml:"FolderId"`
	ParentFolderID   *FolderID          `xml:"ParentFolderId"`
	FolderClass      string             `xml:"FolderClass"`
	DisplayName      string             `xml:"DisplayName"`
	TotalCount       int                `xml:"TotalCount"`
	ChildFolderCount int                `xml:"ChildFolderCount"`
	ExtendedProperty []ExtendedProperty `xml:"ExtendedProperty"`
	EffectiveRights  *EffectiveRights   `xml:"EffectiveRights"`
}

// Folders is a list of folders of any type.
type Folders struct {
	List []Folder `xml:",any"`
}

// TimeZoneDefinition is a server time zone (GetServerTimeZones).
type TimeZoneDefinition struct {
	ID   string `xml:"Id,attr"`
	Name string `xml:"Name,attr"`
}

// ---------------------------------------------------------------- requests

// ItemShape selects item properties.
type ItemShape struct {
	BaseShape            string                `xml:"t:BaseShape"`
	IncludeMimeContent   bool                  `xml:"t:IncludeMimeContent,omitempty"`
	BodyType             string                `xml:"t:BodyType,omitempty"`
	AdditionalProperties *AdditionalProperties `xml:"t:AdditionalProperties,omitempty"`
}

// FolderShape selects folder properties.
type FolderShape struct {
	BaseShape            string                `xml:"t:BaseShape"`
	AdditionalProperties *AdditionalProperties `xml:"t:AdditionalProperties,omitempty"`
}

// AdditionalProperties lists property paths.
type AdditionalProperties struct {
	FieldURIs         []FieldURI         `xml:"t:FieldURI,omitempty"`
	ExtendedFieldURIs []ExtendedFieldURI `xml:"t:ExtendedFieldURI,omitempty"`
}

// GetFolder requests folders by id.
type GetFolder struct {
	XMLName     xml.Name    `xml:"m:GetFolder"`
	FolderShape FolderShape `xml:"m:FolderShape"`
	FolderIDs   FolderRefs  `xml:"m:FolderIds"`
}

// FindFolder lists sub-folders.
type FindFolder struct {
	XMLName         xml.Name         `xml:"m:FindFolder"`
	Traversal       string           `xml:"Traversal,attr"`
	FolderShape     FolderShape      `xml:"m:FolderShape"`
	IndexedPageView *IndexedPageView `xml:"m:IndexedPageFolderView,omitempty"`
	ParentFolderIDs FolderRefs       `xml:"m:ParentFolderIds"`
}

// IndexedPageView pages a FindItem/FindFolder.
type IndexedPageView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr"`
	Offset             int    `xml:"Offset,attr"`
	BasePoint          string `xml:"BasePoint,attr"`
}

// CalendarView expands occurrences within [StartDate, EndDate).
type CalendarView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr,omitempty"`
	StartDate          string `xml:"StartDate,attr"`
	EndDate            string `xml:"EndDate,attr"`
}

// FindItem lists items.
type FindItem struct {
	XMLName         xml.Name         `xml:"m:FindItem"`
	Traversal       string           `xml:"Traversal,attr"`
	ItemShape       ItemShape        `xml:"m:ItemShape"`
	IndexedPageView *IndexedPageView `xml:"m:IndexedPageItemView,omitempty"`
	CalendarView    *CalendarView    `xml:"m:CalendarView,omitempty"`
	ParentFolderIDs FolderRefs       `xml:"m:ParentFolderIds"`
}

// ItemIDs is a list of item ids (t:ItemId elements, then
// t:OccurrenceItemId elements; responses follow that order).
type ItemIDs struct {
	IDs         []ItemID           `xml:"ItemId"`
	Occurrences []OccurrenceItemID `xml:"OccurrenceItemId"`
}

// OccurrenceItemID addresses the InstanceIndex-th (1-based) instance of a
// recurring master; deleted instances count.
type OccurrenceItemID struct {
	RecurringMasterID string `xml:"RecurringMasterId,attr"`
	ChangeKey         string `xml:"ChangeKey,attr,omitempty"`
	InstanceIndex     int    `xml:"InstanceIndex,attr"`
}

// GetItem reads items.
type GetItem struct {
	XMLName   xml.Name  `xml:"m:GetItem"`
	ItemShape ItemShape `xml:"m:ItemShape"`
	ItemIDs   ItemIDs   `xml:"m:ItemIds"`
}

// CreateItem creates items.
type CreateItem struct {
	XMLName                xml.Name   `xml:"m:CreateItem"`
	MessageDisposition     string     `xml:"MessageDisposition,attr,omitempty"`
	SendMeetingInvitations string     `xml:"SendMeetingInvitations,attr,omitempty"`
	SavedItemFolderID      *FolderRef `xml:"m:SavedItemFolderId,omitempty"`
	Items                  Items      `xml:"m:Items"`
}

// UpdateItem changes items property by property.
type UpdateItem struct {
	XMLName                               xml.Name     `xml:"m:UpdateItem"`
	MessageDisposition                    string       `xml:"MessageDisposition,attr,omitempty"`
	ConflictResolution                    string       `xml:"ConflictResolution,attr"`
	SendMeetingInvitationsOrCancellations string       `xml:"SendMeetingInvitationsOrCancellations,attr,omitempty"`
	ItemChanges                           []ItemChange `xml:"m:ItemChanges>ItemChange"`
}

// ItemChange is the set of updates of one item.
type ItemChange struct {
	ItemID  ItemID   `xml:"ItemId"`
	Updates []Update `xml:"Updates>SetItemField"` // element names come from Update.XMLName
}

// Update is a SetItemField or DeleteItemField.
type Update struct {
	XMLName          xml.Name          // "SetItemField" or "DeleteItemField"
	FieldURI         *FieldURI         `xml:"FieldURI,omitempty"`
	IndexedFieldURI  *IndexedFieldURI  `xml:"IndexedFieldURI,omitempty"`
	ExtendedFieldURI *ExtendedFieldURI `xml:"ExtendedFieldURI,omitempty"`
	CalendarItem     *CalendarItem     `xml:"CalendarItem,omitempty"`
	Contact          *Contact          `xml:"Contact,omitempty"`
	DistributionList *DistributionList `xml:"DistributionList,omitempty"`
	Task             *Task             `xml:"Task,omitempty"`
}

// IndexedFieldURI names one entry of a dictionary property
// (contacts:EmailAddress / EmailAddress1).
type IndexedFieldURI struct {
	FieldURI   string `xml:"FieldURI,attr"`
	FieldIndex string `xml:"FieldIndex,attr"`
}

// SetIndexed builds a SetItemField of one dictionary entry.
func SetIndexed(uri, index string, v *Contact) Update {
	return Update{XMLName: xml.Name{Local: "SetItemField"}, IndexedFieldURI: &IndexedFieldURI{uri, index}, Contact: v}
}

// DeleteIndexed builds a DeleteItemField of one dictionary entry.
func DeleteIndexed(uri, index string) Update {
	return Update{XMLName: xml.Name{Local: "DeleteItemField"}, IndexedFieldURI: &IndexedFieldURI{uri, index}}
}

// Retarget moves a SetItemField's value from the CalendarItem payload to
// the element of another item type ("Contact", "DistributionList",
// "Task"), which EWS requires to match the item.
func (u Update) Retarget(element string) Update {
	if u.CalendarItem == nil || element == "CalendarItem" {
		return u
	}
	ci := u.CalendarItem
	u.CalendarItem = nil
	switch element {
	case "Contact":
		u.Contact = &Contact{ExtendedProperty: ci.ExtendedProperty}
	case "DistributionList":
		u.DistributionList = &DistributionList{ExtendedProperty: ci.ExtendedProperty}
	case "Task":
		u.Task = &Task{ExtendedProperty: ci.ExtendedProperty}
	}
	return u
}

// SetField builds a SetItemField of a typed property.
func SetField(uri string, v *CalendarItem) Update {
	return Update{XMLName: xml.Name{Local: "SetItemField"}, FieldURI: &FieldURI{uri}, CalendarItem: v}
}

// DeleteField builds a DeleteItemField of a typed property.
func DeleteField(uri string) Update {
	return Update{XMLName: xml.Name{Local: "DeleteItemField"}, FieldURI: &FieldURI{uri}}
}

// SetExtended builds a SetItemField of an extended property.
func SetExtended(p ExtendedFieldURI, value string) Update {
	pp := p
	return Update{XMLName: xml.Name{Local: "SetItemField"}, ExtendedFieldURI: &pp,
		CalendarItem: &CalendarItem{ExtendedProperty: []ExtendedProperty{{ExtendedFieldURI: p, Value: value}}}}
}

// DeleteExtended builds a DeleteItemField of an extended property.
func DeleteExtended(p ExtendedFieldURI) Update {
	pp := p
	return Update{XMLName: xml.Name{Local: "DeleteItemField"}, ExtendedFieldURI: &pp}
}

// DeleteItem removes items.
type DeleteItem struct {
	XMLName                  xml.Name `xml:"m:DeleteItem"`
	DeleteType               string   `xml:"DeleteType,attr"`
	SendMeetingCancellations string   `xml:"SendMeetingCancellations,attr,omitempty"`
	AffectedTaskOccurrences  string   `xml:"AffectedTaskOccurrences,attr,omitempty"`
	ItemIDs                  ItemIDs  `xml:"m:ItemIds"`
}

// SyncFolderItems lists changes since a SyncState.
type SyncFolderItems struct {
	XMLName            xml.Name  `xml:"m:SyncFolderItems"`
	ItemShape          ItemShape `xml:"m:ItemShape"`
	SyncFolderID       FolderRef `xml:"m:SyncFolderId"`
	SyncState          string    `xml:"m:SyncState,omitempty"`
	MaxChangesReturned int       `xml:"m:MaxChangesReturned"`
	SyncScope          string    `xml:"m:SyncScope,omitempty"`
}

// GetAttachment reads attachments with their content.
type GetAttachment struct {
	XMLName       xml.Name       `xml:"m:GetAttachment"`
	AttachmentIDs []AttachmentID `xml:"m:AttachmentIds>t:AttachmentId"`
}

// CreateAttachment adds attachments to an item.
type CreateAttachment struct {
	XMLName      xml.Name         `xml:"m:CreateAttachment"`
	ParentItemID ItemID           `xml:"m:ParentItemId"`
	Attachments  []FileAttachment `xml:"m:Attachments>t:FileAttachment"`
}

// DeleteAttachment removes attachments.
type DeleteAttachment struct {
	XMLName       xml.Name       `xml:"m:DeleteAttachment"`
	AttachmentIDs []AttachmentID `xml:"m:AttachmentIds>t:AttachmentId"`
}

// GetServerTimeZones lists the server's time zones.
type GetServerTimeZones struct {
	XMLName                xml.Name `xml:"m:GetServerTimeZones"`
	ReturnFullTimeZoneData bool     `xml:"ReturnFullTimeZoneData,attr"`
}

// ---------------------------------------------------------------- time

// TimeLayout is the xs:dateTime layout EWS accepts and emits.
const TimeLayout = "2006-01-02T15:04:05Z07:00"

// FormatTime renders t in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ParseTime parses an xs:dateTime (with or without zone; none means UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05", s)
}

// ---------------------------------------------------------------- availability

// GetUserAvailability asks for free/busy times of mailboxes.
type GetUserAvailability struct {
	XMLName             xml.Name            `xml:"m:GetUserAvailabilityRequest"`
	TimeZone            LegacyTimeZone      `xml:"t:TimeZone"`
	MailboxData         []MailboxData       `xml:"m:MailboxDataArray>t:MailboxData"`
	FreeBusyViewOptions FreeBusyViewOptions `xml:"t:FreeBusyViewOptions"`
}

// LegacyTimeZone is the Bias-based zone of GetUserAvailability; times in
// the request and the answer are local to it.
type LegacyTimeZone struct {
	Bias         int            `xml:"t:Bias"`
	StandardTime LegacyZoneRule `xml:"t:StandardTime"`
	DaylightTime LegacyZoneRule `xml:"t:DaylightTime"`
}

// LegacyZoneRule is one transition of a LegacyTimeZone.
type LegacyZoneRule struct {
	Bias      int    `xml:"t:Bias"`
	Time      string `xml:"t:Time"`
	DayOrder  int    `xml:"t:DayOrder"`
	Month     int    `xml:"t:Month"`
	DayOfWeek string `xml:"t:DayOfWeek"`
}

// UTCZone is a LegacyTimeZone without offset or daylight saving.
func UTCZone() LegacyTimeZone {
	r := LegacyZoneRule{Time: "00:00:00", DayOrder: 1, Month: 1, DayOfWeek: "Sunday"}
	return LegacyTimeZone{StandardTime: r, DaylightTime: r}
}

// MailboxData names one mailbox of a GetUserAvailability.
type MailboxData struct {
	Email        MailboxAddress `xml:"t:Email"`
	AttendeeType string         `xml:"t:AttendeeType"`
}

// MailboxAddress is t:Email of a MailboxData.
type MailboxAddress struct {
	Address string `xml:"t:Address"`
}

// FreeBusyViewOptions selects the window and the view.
type FreeBusyViewOptions struct {
	StartTime                       string `xml:"t:TimeWindow>t:StartTime"`
	EndTime                         string `xml:"t:TimeWindow>t:EndTime"`
	MergedFreeBusyIntervalInMinutes int    `xml:"t:MergedFreeBusyIntervalInMinutes"`
	RequestedView                   string `xml:"t:RequestedView"`
}

// FreeBusyResponse is one mailbox's answer.
type FreeBusyResponse struct {
	ResponseMessage ResponseMessage `xml:"ResponseMessage"`
	Events          []CalendarEvent `xml:"FreeBusyView>CalendarEventArray>CalendarEvent"`
}

// CalendarEvent is one busy interval (times local to the request's zone).
type CalendarEvent struct {
	StartTime string `xml:"StartTime"`
	EndTime   string `xml:"EndTime"`
	BusyType  string `xml:"BusyType"`
}
