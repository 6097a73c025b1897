--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: relfixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA relfixture;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: checkpoints; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.checkpoints (
    name character varying(200) NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: command_requests; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.command_requests (
    scope character varying(250) NOT NULL,
    request_id character varying(250) NOT NULL,
    operation character varying(100) NOT NULL,
    fingerprint character varying(128) NOT NULL,
    first_position bigint NOT NULL,
    last_position bigint NOT NULL,
    recorded_at bigint NOT NULL
);


--
-- Name: console_login_failures; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.console_login_failures (
    user_name character varying(128) NOT NULL,
    count integer NOT NULL,
    last_at double precision NOT NULL
);


--
-- Name: console_sessions; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.console_sessions (
    id_sha256 character varying(64) NOT NULL,
    operator_id character varying(64) NOT NULL,
    csrf_token character varying(64) NOT NULL,
    created_at double precision NOT NULL,
    last_seen_at double precision NOT NULL,
    expires_at double precision NOT NULL
);


--
-- Name: events; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.events (
    "position" bigint NOT NULL,
    stream_id character varying(200) NOT NULL,
    stream_version bigint NOT NULL,
    event_id character varying(36) NOT NULL,
    event_type character varying(100) NOT NULL,
    occurred_at bigint NOT NULL,
    recorded_at bigint NOT NULL,
    correlation_id character varying(64) NOT NULL,
    causation_id character varying(200) NOT NULL,
    actor character varying(200) NOT NULL,
    payload bytea NOT NULL
);


--
-- Name: incident_log_entries; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.incident_log_entries (
    seq integer NOT NULL,
    incident_id character varying(64) NOT NULL,
    source character varying(50) NOT NULL,
    stream_id character varying(200) NOT NULL,
    stream_version bigint NOT NULL,
    event_id character varying(36) NOT NULL,
    event_type character varying(100) NOT NULL,
    occurred_at bigint NOT NULL,
    envelope bytea NOT NULL
);


--
-- Name: incident_log_entries_seq_seq; Type: SEQUENCE; Schema: relfixture; Owner: -
--

CREATE SEQUENCE relfixture.incident_log_entries_seq_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: incident_log_entries_seq_seq; Type: SEQUENCE OWNED BY; Schema: relfixture; Owner: -
--

ALTER SEQUENCE relfixture.incident_log_entries_seq_seq OWNED BY relfixture.incident_log_entries.seq;


--
-- Name: incident_summaries; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.incident_summaries (
    incident_id character varying(64) NOT NULL,
    incident_type character varying(100) NOT NULL,
    status character varying(20) NOT NULL,
    alarm_level integer NOT NULL,
    latitude double precision,
    longitude double precision,
    address character varying(500) NOT NULL,
    opened_at bigint NOT NULL,
    ended_at bigint NOT NULL,
    events integer NOT NULL,
    last_event_at bigint NOT NULL
);


--
-- Name: parked_messages; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.parked_messages (
    id integer NOT NULL,
    projection character varying(100) NOT NULL,
    topic character varying(200) NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    reason text NOT NULL,
    value bytea NOT NULL,
    parked_at bigint NOT NULL
);


--
-- Name: parked_messages_id_seq; Type: SEQUENCE; Schema: relfixture; Owner: -
--

CREATE SEQUENCE relfixture.parked_messages_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: parked_messages_id_seq; Type: SEQUENCE OWNED BY; Schema: relfixture; Owner: -
--

ALTER SEQUENCE relfixture.parked_messages_id_seq OWNED BY relfixture.parked_messages.id;


--
-- Name: projection_tracking; Type: TABLE; Schema: relfixture; Owner: -
--

CREATE TABLE relfixture.projection_tracking (
    projection character varying(100) NOT NULL,
    source character varying(50) NOT NULL,
    stream_id character varying(200) NOT NULL,
    version bigint NOT NULL
);


--
-- Name: incident_log_entries seq; Type: DEFAULT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.incident_log_entries ALTER COLUMN seq SET DEFAULT nextval('relfixture.incident_log_entries_seq_seq'::regclass);


--
-- Name: parked_messages id; Type: DEFAULT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.parked_messages ALTER COLUMN id SET DEFAULT nextval('relfixture.parked_messages_id_seq'::regclass);


--
-- Data for Name: checkpoints; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.checkpoints VALUES ('relay:emergency.units.v1', 2);
INSERT INTO relfixture.checkpoints VALUES ('relay:emergency.units.v1:partition:0', 1);


--
-- Data for Name: command_requests; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.command_requests VALUES ('client:ADMIN:fixture', 'register-0', 'RegisterUnit', 'fp0', 1, 1, 1796093772648205);
INSERT INTO relfixture.command_requests VALUES ('client:ADMIN:fixture', 'register-1', 'RegisterUnit', 'fp1', 2, 2, 1796093772649981);
INSERT INTO relfixture.command_requests VALUES ('client:ADMIN:fixture', 'register-2', 'RegisterUnit', 'fp2', 3, 3, 1796093772652113);


--
-- Data for Name: console_login_failures; Type: TABLE DATA; Schema: relfixture; Owner: -
--



--
-- Data for Name: console_sessions; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.console_sessions VALUES ('f1085a127240380785f436a8dfefa0593f8ec78d41869df4418e965f4c965bc2', 'ct-01', 'yd60VuDlziL4FsKcYtOsqcAybkLOPxJzy7t8v_W8sWg', 1796000000, 1796000000, 1796046800);


--
-- Data for Name: events; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.events VALUES (1, 'unit-U0', 1, 'e0422b09006a284ecfdecfce32061243', 'UnitRegistered', 1796093772646401, 1796093772648205, '', '', 'ADMIN:fixture', '\x0a0e0a0255301208456e67696e652030');
INSERT INTO relfixture.events VALUES (2, 'unit-U1', 1, 'a22a555606fb04203fc593873f881daa', 'UnitRegistered', 1796093772649296, 1796093772649981, '', '', 'ADMIN:fixture', '\x0a0e0a0255311208456e67696e652031');
INSERT INTO relfixture.events VALUES (3, 'unit-U2', 1, 'c590719223fcdc1869558581fa2d3f47', 'UnitRegistered', 1796093772651524, 1796093772652113, '', '', 'ADMIN:fixture', '\x0a0e0a0255321208456e67696e652032');
INSERT INTO relfixture.events VALUES (4, 'incident-I1', 1, 'e7a0c98ea063ba2ec3d6950f07213a08', 'IncidentCreated', 1796093772652677, 1796093772653653, 'I1', '', 'CALL_TAKER:ct-01', '\x0a0249311a107265736964656e7469616c5f666972652a0e31204669787475726520526f6164');


--
-- Data for Name: incident_log_entries; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.incident_log_entries VALUES (1, 'I1', 'dispatch', 'incident-I1', 1, 'e7a0c98ea063ba2ec3d6950f07213a08', 'IncidentCreated', 1796093772652677, '\x0a206537613063393865613036336261326563336436393530663037323133613038120b696e636964656e742d49311801220f496e636964656e74437265617465642a0c08cceeb8d80610889f9cb702320c08cceeb8d8061088e8d7b7023a0249314a090801120563742d3031520864697370617463685804ca0c260a0249311a107265736964656e7469616c5f666972652a0e31204669787475726520526f6164');


--
-- Data for Name: incident_summaries; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.incident_summaries VALUES ('I1', 'residential_fire', 'OPEN', 1, NULL, NULL, '1 Fixture Road', 1796093772652677, 0, 1, 1796093772652677);


--
-- Data for Name: parked_messages; Type: TABLE DATA; Schema: relfixture; Owner: -
--



--
-- Data for Name: projection_tracking; Type: TABLE DATA; Schema: relfixture; Owner: -
--

INSERT INTO relfixture.projection_tracking VALUES ('incident-log', 'dispatch', 'unit-U0', 1);
INSERT INTO relfixture.projection_tracking VALUES ('incident-log', 'dispatch', 'unit-U1', 1);
INSERT INTO relfixture.projection_tracking VALUES ('incident-log', 'dispatch', 'unit-U2', 1);
INSERT INTO relfixture.projection_tracking VALUES ('incident-log', 'dispatch', 'incident-I1', 1);


--
-- Name: incident_log_entries_seq_seq; Type: SEQUENCE SET; Schema: relfixture; Owner: -
--

SELECT pg_catalog.setval('relfixture.incident_log_entries_seq_seq', 1, true);


--
-- Name: parked_messages_id_seq; Type: SEQUENCE SET; Schema: relfixture; Owner: -
--

SELECT pg_catalog.setval('relfixture.parked_messages_id_seq', 1, false);


--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (name);


--
-- Name: command_requests command_requests_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.command_requests
    ADD CONSTRAINT command_requests_pkey PRIMARY KEY (scope, request_id);


--
-- Name: console_login_failures console_login_failures_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.console_login_failures
    ADD CONSTRAINT console_login_failures_pkey PRIMARY KEY (user_name);


--
-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id_sha256);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.events
    ADD CONSTRAINT events_pkey PRIMARY KEY ("position");


--
-- Name: incident_log_entries incident_log_entries_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.incident_log_entries
    ADD CONSTRAINT incident_log_entries_pkey PRIMARY KEY (seq);


--
-- Name: incident_summaries incident_summaries_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.incident_summaries
    ADD CONSTRAINT incident_summaries_pkey PRIMARY KEY (incident_id);


--
-- Name: parked_messages parked_messages_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.parked_messages
    ADD CONSTRAINT parked_messages_pkey PRIMARY KEY (id);


--
-- Name: projection_tracking projection_tracking_pkey; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.projection_tracking
    ADD CONSTRAINT projection_tracking_pkey PRIMARY KEY (projection, source, stream_id);


--
-- Name: events uq_events_stream_version; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.events
    ADD CONSTRAINT uq_events_stream_version UNIQUE (stream_id, stream_version);


--
-- Name: incident_log_entries uq_log_stream_version; Type: CONSTRAINT; Schema: relfixture; Owner: -
--

ALTER TABLE ONLY relfixture.incident_log_entries
    ADD CONSTRAINT uq_log_stream_version UNIQUE (source, stream_id, stream_version);


--
-- Name: ix_console_sessions_operator_id; Type: INDEX; Schema: relfixture; Owner: -
--

CREATE INDEX ix_console_sessions_operator_id ON relfixture.console_sessions USING btree (operator_id);


--
-- Name: ix_log_incident_time; Type: INDEX; Schema: relfixture; Owner: -
--

CREATE INDEX ix_log_incident_time ON relfixture.incident_log_entries USING btree (incident_id, occurred_at);


--
-- Name: ix_summaries_opened; Type: INDEX; Schema: relfixture; Owner: -
--

CREATE INDEX ix_summaries_opened ON relfixture.incident_summaries USING btree (opened_at);


--
-- PostgreSQL database dump complete
--


