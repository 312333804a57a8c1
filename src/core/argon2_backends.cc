#include "core/argon2_backends.h"

#include <argon2.h>
#include <botan/argon2.h>
#include <gcrypt.h>
#include <sodium.h>
#include <sys/mman.h>

#include <charconv>

namespace authgate {
namespace {

// --- PHC string ------------------------------------------------------------------------

std::optional<std::string> Base64NoPadding(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  if (text.empty() ||
      sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

// Reads "<key>=<number>" from the front of `text`, then one `separator` (or the end).
bool TakeParameter(std::string_view* text, std::string_view key, char separator,
                   uint32_t* value) {
  if (!text->starts_with(key) || text->size() <= key.size() || (*text)[key.size()] != '=') {
    return false;
  }
  text->remove_prefix(key.size() + 1);
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), *value);
  if (ec != std::errc() || end == text->data()) return false;
  text->remove_prefix(static_cast<size_t>(end - text->data()));
  if (text->empty()) return true;
  if (text->front() != separator) return false;
  text->remove_prefix(1);
  return true;
}

// --- libargon2's memory: one reused, pre-faulted buffer per thread ----------------------

struct ThreadScratch {
  uint8_t* memory = nullptr;
  size_t bytes = 0;
  ~ThreadScratch() {
    if (memory != nullptr) munmap(memory, bytes);
  }
};
thread_local ThreadScratch scratch;

int AllocateScratch(uint8_t** memory, size_t bytes) {
  if (scratch.bytes < bytes) {
    if (scratch.memory != nullptr) munmap(scratch.memory, scratch.bytes);
    scratch.memory = nullptr;
    scratch.bytes = 0;
    void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mapped == MAP_FAILED) return ARGON2_MEMORY_ALLOCATION_ERROR;
    madvise(mapped, bytes, MADV_HUGEPAGE);  // where the kernel grants them
    scratch.memory = static_cast<uint8_t*>(mapped);
    scratch.bytes = bytes;
  }
  *memory = scratch.memory;
  return ARGON2_OK;
}

void WipeScratch(uint8_t* memory, size_t bytes) { sodium_memzero(memory, bytes); }

// --- raw tags per library ----------------------------------------------------------------

struct RawInput {
  std::string_view password, salt, secret, associated_data;
  uint32_t memory_kib, iterations, parallelism;
  size_t tag_bytes;
};

uint8_t* Bytes(std::string_view text) {
  return reinterpret_cast<uint8_t*>(const_cast<char*>(text.data()));
}

std::optional<std::string> RawLibsodium(const RawInput& in) {
  if (!in.secret.empty() || !in.associated_data.empty() || in.parallelism != 1 ||
      in.salt.size() != crypto_pwhash_SALTBYTES) {
    return std::nullopt;
  }
  std::string tag(in.tag_bytes, '\0');
  if (crypto_pwhash(Bytes(tag), tag.size(), in.password.data(), in.password.size(),
                    Bytes(in.salt), in.iterations, static_cast<size_t>(in.memory_kib) * 1024,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::nullopt;
  }
  return tag;
}

std::optional<std::string> RawLibargon2(const RawInput& in) {
  std::string tag(in.tag_bytes, '\0');
  argon2_context context{};
  context.out = Bytes(tag);
  context.outlen = static_cast<uint32_t>(tag.size());
  context.pwd = Bytes(in.password);
  context.pwdlen = static_cast<uint32_t>(in.password.size());
  context.salt = Bytes(in.salt);
  context.saltlen = static_cast<uint32_t>(in.salt.size());
  context.secret = in.secret.empty() ? nullptr : Bytes(in.secret);
  context.secretlen = static_cast<uint32_t>(in.secret.size());
  context.ad = in.associated_data.empty() ? nullptr : Bytes(in.associated_data);
  context.adlen = static_cast<uint32_t>(in.associated_data.size());
  context.t_cost = in.iterations;
  context.m_cost = in.memory_kib;
  context.lanes = in.parallelism;
  context.threads = 1;  // one core per verification: the helpers are the parallelism
  context.version = ARGON2_VERSION_13;
  context.allocate_cbk = AllocateScratch;
  context.free_cbk = WipeScratch;
  context.flags = ARGON2_DEFAULT_FLAGS;
  if (argon2_ctx(&context, Argon2_id) != ARGON2_OK) return std::nullopt;
  return tag;
}

bool GcryptReady() {
  static const bool ready = [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) return false;
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
  }();
  return ready;
}

std::optional<std::string> RawLibgcrypt(const RawInput& in) {
  if (!GcryptReady()) return std::nullopt;
  const unsigned long parameters[4] = {in.tag_bytes, in.iterations, in.memory_kib,
                                       in.parallelism};
  gcry_kdf_hd_t handle = nullptr;
  if (gcry_kdf_open(&handle, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, parameters, 4,
                    in.password.data(), in.password.size(), in.salt.data(), in.salt.size(),
                    in.secret.empty() ? nullptr : in.secret.data(), in.secret.size(),
                    in.associated_data.empty() ? nullptr : in.associated_data.data(),
                    in.associated_data.size()) != 0) {
    return std::nullopt;
  }
  std::string tag(in.tag_bytes, '\0');
  const bool ok = gcry_kdf_compute(handle, nullptr) == 0 &&
                  gcry_kdf_final(handle, tag.size(), tag.data()) == 0;
  gcry_kdf_close(handle);
  if (!ok) return std::nullopt;
  return tag;
}

std::optional<std::string> RawBotan(const RawInput& in) {
  std::string tag(in.tag_bytes, '\0');
  try {
    Botan::argon2(Bytes(tag), tag.size(), in.password.data(), in.password.size(),
                  Bytes(in.salt), in.salt.size(), Bytes(in.secret), in.secret.size(),
                  Bytes(in.associated_data), in.associated_data.size(), /*y=Argon2id*/ 2,
                  in.parallelism, in.memory_kib, in.iterations);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return tag;
}

std::optional<std::string> Raw(Argon2Backend backend, const RawInput& in) {
  switch (backend) {
    case Argon2Backend::kLibsodium: return RawLibsodium(in);
    case Argon2Backend::kLibargon2: return RawLibargon2(in);
    case Argon2Backend::kLibgcrypt: return RawLibgcrypt(in);
    case Argon2Backend::kBotan: return RawBotan(in);
  }
  return std::nullopt;
}

}  // namespace

const std::vector<Argon2Backend>& AllArgon2Backends() {
  static const std::vector<Argon2Backend> all = {Argon2Backend::kLibsodium,
                                                 Argon2Backend::kLibargon2,
                                                 Argon2Backend::kLibgcrypt, Argon2Backend::kBotan};
  return all;
}

std::string_view Argon2BackendName(Argon2Backend backend) {
  switch (backend) {
    case Argon2Backend::kLibsodium: return "libsodium";
    case Argon2Backend::kLibargon2: return "libargon2";
    case Argon2Backend::kLibgcrypt: return "libgcrypt";
    case Argon2Backend::kBotan: return "botan";
  }
  return "libsodium";
}

std::optional<Argon2Backend> ParseArgon2Backend(std::string_view name) {
  for (Argon2Backend backend : AllArgon2Backends()) {
    if (Argon2BackendName(backend) == name) return backend;
  }
  return std::nullopt;
}

std::optional<Argon2idPhc> ParseArgon2idPhc(std::string_view phc) {
  constexpr std::string_view kPrefix = "$argon2id$v=19$";
  if (!phc.starts_with(kPrefix)) return std::nullopt;
  phc.remove_prefix(kPrefix.size());
  const size_t params_end = phc.find('$');
  if (params_end == std::string_view::npos) return std::nullopt;
  std::string_view params = phc.substr(0, params_end);
  Argon2idPhc out;
  if (!TakeParameter(&params, "m", ',', &out.memory_kib) ||
      !TakeParameter(&params, "t", ',', &out.iterations) ||
      !TakeParameter(&params, "p", ',', &out.parallelism) || !params.empty()) {
    return std::nullopt;
  }
  std::string_view rest = phc.substr(params_end + 1);
  const size_t salt_end = rest.find('$');
  if (salt_end == std::string_view::npos) return std::nullopt;
  std::optional<std::string> salt = Base64NoPadding(rest.substr(0, salt_end));
  std::optional<std::string> tag = Base64NoPadding(rest.substr(salt_end + 1));
  if (!salt || !tag || tag->size() < 4 || out.iterations < 1 || out.parallelism < 1 ||
      out.memory_kib < 8 * out.parallelism) {
    return std::nullopt;
  }
  out.salt = std::move(*salt);
  out.tag = std::move(*tag);
  return out;
}

bool VerifyArgon2id(Argon2Backend backend, const std::string& phc, std::string_view password) {
  if (backend == Argon2Backend::kLibsodium) {
    if (phc.size() >= crypto_pwhash_STRBYTES) return false;
    return crypto_pwhash_str_verify(phc.c_str(), password.data(), password.size()) == 0;
  }
  std::optional<Argon2idPhc> parsed = ParseArgon2idPhc(phc);
  if (!parsed) return false;
  std::optional<std::string> tag =
      Raw(backend, {password, parsed->salt, {}, {}, parsed->memory_kib, parsed->iterations,
                    parsed->parallelism, parsed->tag.size()});
  if (!tag) return false;
  const bool same = sodium_memcmp(tag->data(), parsed->tag.data(), tag->size()) == 0;
  sodium_memzero(tag->data(), tag->size());
  return same;
}

std::optional<std::string> Argon2idRaw(Argon2Backend backend, std::string_view password,
                                       std::string_view salt, std::string_view secret,
                                       std::string_view associated_data, uint32_t memory_kib,
                                       uint32_t iterations, uint32_t parallelism,
                                       size_t tag_bytes) {
  return Raw(backend, {password, salt, secret, associated_data, memory_kib, iterations,
                       parallelism, tag_bytes});
}

}  // namespace authgate
