//! Reading the model from `metadata.sqlitedb` (the TOM schema, one table per object type).
//!
//! SQLite is read with `rusqlite` and its bundled SQLite, deserialised from memory read-only.
//! Why not a small pure-Rust B-tree reader: SQLite is the most heavily fuzzed file parser
//! there is and reports a corrupt database as an error (`SQLITE_CORRUPT`), while a new reader
//! would be new attack surface on hostile files and would have to get overflow pages, rowid
//! aliases, type affinities and later schema versions right. The cost is a C compiler at
//! build time, which the toolchain already needs for other crates.
//!
//! Hostile databases: only objects that are real tables (not views, which could run
//! arbitrary queries, nor virtual tables) are read, the connection is query-only and trusts
//! no schema functions, and columns are looked up by name so older and newer schema
//! versions both work.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB, Row};

use super::{
    DataModelError, RawColumn, RawDataSource, RawExpression, RawMeasure, RawPartition, RawTable,
};

/// The rows the model reader extracts.
pub(crate) struct Metadata {
    pub(crate) desktop_version: Option<String>,
    pub(crate) default_mode: Option<i64>,
    pub(crate) tables: Vec<RawTable>,
    pub(crate) partitions: Vec<RawPartition>,
    pub(crate) columns: Vec<RawColumn>,
    pub(crate) measures: Vec<RawMeasure>,
    pub(crate) expressions: Vec<RawExpression>,
    pub(crate) data_sources: Vec<RawDataSource>,
    pub(crate) relationships: usize,
}

fn corrupt(e: rusqlite::Error) -> DataModelError {
    DataModelError::Corrupt(format!("metadata.sqlitedb: {e}"))
}

pub(crate) fn read_metadata(db: &[u8]) -> Result<Metadata, DataModelError> {
    let mut conn = Connection::open_in_memory().map_err(corrupt)?;
    conn.deserialize_read_exact(MAIN_DB, db, db.len(), true)
        .map_err(corrupt)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(corrupt)?;
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(corrupt)?;
    let schema = Schema::load(&conn)?;
    for required in ["Model", "Table", "Partition"] {
        if !schema.has_table(required) {
            return Err(DataModelError::Corrupt(format!(
                "metadata.sqlitedb has no {required} table"
            )));
        }
    }
    let user_table = schema.user_table_filter();
    Ok(Metadata {
        desktop_version: desktop_version(&conn, &schema)?,
        default_mode: default_mode(&conn, &schema)?,
        tables: tables(&conn, &user_table)?,
        partitions: partitions(&conn, &schema, &user_table)?,
        columns: columns(&conn, &schema, &user_table)?,
        measures: measures(&conn, &schema, &user_table)?,
        expressions: expressions(&conn, &schema)?,
        data_sources: data_sources(&conn, &schema)?,
        relationships: relationships(&conn, &schema)?,
    })
}

/// The real tables of the database and their columns.
struct Schema {
    tables: Vec<(String, Vec<String>)>,
}

impl Schema {
    fn load(conn: &Connection) -> Result<Self, DataModelError> {
        let mut names = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")
            .map_err(corrupt)?;
        let names: Vec<String> = names
            .query_map([], |row| row.get(0))
            .map_err(corrupt)?
            .collect::<Result<_, _>>()
            .map_err(corrupt)?;
        let mut tables = Vec::new();
        for name in names {
            let mut info = conn
                .prepare("SELECT name FROM pragma_table_info(?1)")
                .map_err(corrupt)?;
            let columns: Vec<String> = info
                .query_map([&name], |row| row.get(0))
                .map_err(corrupt)?
                .collect::<Result<_, _>>()
                .map_err(corrupt)?;
            tables.push((name, columns));
        }
        Ok(Schema { tables })
    }

    fn has_table(&self, table: &str) -> bool {
        self.tables.iter().any(|(t, _)| t == table)
    }

    fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .iter()
            .any(|(t, cols)| t == table && cols.iter().any(|c| c == column))
    }

    /// `column` of `table` (aliased `alias`) if the schema has it, else NULL.
    fn column_or_null(&self, table: &str, alias: &str, column: &str) -> String {
        if self.has_column(table, column) {
            format!("{alias}.[{column}]")
        } else {
            "NULL".to_owned()
        }
    }

    /// SQL condition on `t` (a `Table` row) selecting the model's own tables: engine-internal
    /// ones (attribute hierarchies `H$`, relationships `R$`, user hierarchies `U$`) are
    /// flagged in `SystemFlags` bit 0.
    fn user_table_filter(&self) -> String {
        if self.has_column("Table", "SystemFlags") {
            "(t.SystemFlags & 1) = 0".to_owned()
        } else {
            "substr(t.Name, 1, 2) NOT IN ('H$', 'R$', 'U$')".to_owned()
        }
    }
}

fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) | ValueRef::Blob(t) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Integer(n) => Ok(Some(n.to_string())),
        ValueRef::Real(f) => Ok(Some(f.to_string())),
    }
}

/// An integer column; SQLite may store whole numbers as REAL or text.
fn int(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<i64>> {
    Ok(match row.get_ref(i)? {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok()),
        _ => None,
    })
}

fn required(value: Option<String>, what: &str) -> rusqlite::Result<String> {
    value.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(0, what.to_owned(), rusqlite::types::Type::Null)
    })
}

fn query<T>(
    conn: &Connection,
    sql: &str,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, DataModelError> {
    let mut statement = conn.prepare(sql).map_err(corrupt)?;
    let rows = statement.query_map([], map).map_err(corrupt)?;
    rows.collect::<Result<_, _>>().map_err(corrupt)
}

fn tables(conn: &Connection, user_table: &str) -> Result<Vec<RawTable>, DataModelError> {
    let sql = format!("SELECT t.ID, t.Name FROM [Table] t WHERE {user_table} ORDER BY t.ID");
    query(conn, &sql, |row| {
        Ok(RawTable {
            id: int(row, 0)?.unwrap_or_default(),
            name: required(text(row, 1)?, "Table.Name")?,
        })
    })
}

fn partitions(
    conn: &Connection,
    schema: &Schema,
    user_table: &str,
) -> Result<Vec<RawPartition>, DataModelError> {
    if !schema.has_column("Partition", "Type") || !schema.has_column("Partition", "Mode") {
        return Err(DataModelError::Unsupported(
            "a model schema without partition types and modes (a 2016-17 file)".into(),
        ));
    }
    let source = schema.column_or_null("Partition", "p", "DataSourceID");
    let sql = format!(
        "SELECT t.Name, p.Name, p.Type, p.Mode, p.QueryDefinition, {source} \
         FROM [Partition] p JOIN [Table] t ON t.ID = p.TableID WHERE {user_table} ORDER BY p.ID"
    );
    query(conn, &sql, |row| {
        Ok(RawPartition {
            table_name: required(text(row, 0)?, "Table.Name")?,
            name: required(text(row, 1)?, "Partition.Name")?,
            kind: int(row, 2)?.unwrap_or_default(),
            mode: int(row, 3)?.unwrap_or_default(),
            query: text(row, 4)?,
            data_source_id: int(row, 5)?.filter(|id| *id != 0),
        })
    })
}

fn columns(
    conn: &Connection,
    schema: &Schema,
    user_table: &str,
) -> Result<Vec<RawColumn>, DataModelError> {
    if !schema.has_column("Column", "TableID") {
        return Ok(Vec::new());
    }
    let [explicit, inferred, data_type, kind] =
        ["ExplicitName", "InferredName", "ExplicitDataType", "Type"]
            .map(|c| schema.column_or_null("Column", "c", c));
    let sql = format!(
        "SELECT t.Name, coalesce({explicit}, {inferred}), {data_type}, {kind} \
         FROM [Column] c JOIN [Table] t ON t.ID = c.TableID WHERE {user_table} ORDER BY c.ID"
    );
    query(conn, &sql, |row| {
        Ok(RawColumn {
            table_name: required(text(row, 0)?, "Table.Name")?,
            name: text(row, 1)?.unwrap_or_default(),
            data_type: int(row, 2)?.unwrap_or_default(),
            kind: int(row, 3)?.unwrap_or(1),
        })
    })
}

fn measures(
    conn: &Connection,
    schema: &Schema,
    user_table: &str,
) -> Result<Vec<RawMeasure>, DataModelError> {
    if !schema.has_column("Measure", "TableID") {
        return Ok(Vec::new());
    }
    let expression = schema.column_or_null("Measure", "m", "Expression");
    let sql = format!(
        "SELECT t.Name, m.Name, {expression} \
         FROM [Measure] m JOIN [Table] t ON t.ID = m.TableID WHERE {user_table} ORDER BY m.ID"
    );
    query(conn, &sql, |row| {
        Ok(RawMeasure {
            table_name: required(text(row, 0)?, "Table.Name")?,
            name: required(text(row, 1)?, "Measure.Name")?,
            expression: text(row, 2)?.unwrap_or_default(),
        })
    })
}

fn expressions(conn: &Connection, schema: &Schema) -> Result<Vec<RawExpression>, DataModelError> {
    if !schema.has_table("Expression") {
        return Ok(Vec::new());
    }
    let kind = schema.column_or_null("Expression", "e", "Kind");
    let description = schema.column_or_null("Expression", "e", "Description");
    let sql = format!(
        "SELECT e.Name, {kind}, e.Expression, {description} FROM [Expression] e ORDER BY e.ID"
    );
    query(conn, &sql, |row| {
        Ok(RawExpression {
            name: required(text(row, 0)?, "Expression.Name")?,
            kind: int(row, 1)?.unwrap_or_default(),
            expression: text(row, 2)?.unwrap_or_default(),
            description: text(row, 3)?,
        })
    })
}

fn data_sources(conn: &Connection, schema: &Schema) -> Result<Vec<RawDataSource>, DataModelError> {
    if !schema.has_table("DataSource") {
        return Ok(Vec::new());
    }
    let columns = ["Type", "Provider", "ConnectionDetails"]
        .map(|c| schema.column_or_null("DataSource", "d", c));
    let sql = format!(
        "SELECT d.Name, {}, {}, {} FROM [DataSource] d ORDER BY d.ID",
        columns[0], columns[1], columns[2]
    );
    query(conn, &sql, |row| {
        Ok(RawDataSource {
            name: text(row, 0)?.unwrap_or_default(),
            kind: int(row, 1)?,
            provider: text(row, 2)?,
            connection_details: text(row, 3)?,
        })
    })
}

fn desktop_version(conn: &Connection, schema: &Schema) -> Result<Option<String>, DataModelError> {
    if !schema.has_table("Annotation") {
        return Ok(None);
    }
    let sql = "SELECT Value FROM [Annotation] WHERE ObjectType = 1 AND Name = 'PBIDesktopVersion' ORDER BY ID";
    Ok(query(conn, sql, |row| text(row, 0))?
        .into_iter()
        .flatten()
        .next())
}

fn default_mode(conn: &Connection, schema: &Schema) -> Result<Option<i64>, DataModelError> {
    if !schema.has_column("Model", "DefaultMode") {
        return Ok(None);
    }
    Ok(
        query(conn, "SELECT DefaultMode FROM [Model] ORDER BY ID", |row| {
            int(row, 0)
        })?
        .into_iter()
        .flatten()
        .next(),
    )
}

/// Relationships between the model's own tables (those to automatic date tables and
/// engine-internal tables, which carry system flags, are not the author's).
fn relationships(conn: &Connection, schema: &Schema) -> Result<usize, DataModelError> {
    if !schema.has_table("Relationship") {
        return Ok(0);
    }
    let filter = if schema.has_column("Table", "SystemFlags") {
        "t.SystemFlags = 0"
    } else {
        "1"
    };
    let sql = format!(
        "SELECT COUNT(*) FROM [Relationship] r JOIN [Table] t ON t.ID = r.ToTableID WHERE {filter}"
    );
    let counts = query(conn, &sql, |row| int(row, 0))?;
    Ok(counts.into_iter().flatten().next().unwrap_or(0).max(0) as usize)
}
