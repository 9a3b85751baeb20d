#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace tl {

// An append-only sequence with stable element addresses and index access,
// kept in blocks of 2 MiB. It holds the projection's entries in place of a
// std::deque: an entry is larger than 512 bytes, so libstdc++'s deque gave
// each its own heap block (16 bytes of overhead plus a map pointer a token).
template <typename T>
class BlockVector {
 public:
  static constexpr size_t kPerBlock = (2u << 20) / sizeof(T);
  static_assert(kPerBlock > 0);
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

  BlockVector() = default;
  BlockVector(const BlockVector& other) {
    try {
      for (size_t i = 0; i < other.size(); ++i) emplace_back(other[i]);
    } catch (...) {
      clear();
      throw;
    }
  }
  BlockVector& operator=(const BlockVector&) = delete;  // copy, then move
  BlockVector(BlockVector&& other) noexcept
      : blocks_(std::move(other.blocks_)), size_(std::exchange(other.size_, 0)) {}
  BlockVector& operator=(BlockVector&& other) noexcept {
    if (this != &other) {
      clear();
      blocks_ = std::move(other.blocks_);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~BlockVector() { clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return Block(i / kPerBlock)[i % kPerBlock]; }
  const T& operator[](size_t i) const { return Block(i / kPerBlock)[i % kPerBlock]; }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == blocks_.size() * kPerBlock) {
      blocks_.emplace_back(new std::byte[kPerBlock * sizeof(T)]);
    }
    T* slot = &Block(size_ / kPerBlock)[size_ % kPerBlock];
    new (slot) T(std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }

  void clear() {
    for (size_t i = size_; i > 0; --i) (*this)[i - 1].~T();
    size_ = 0;
    blocks_.clear();
  }

  // Index-based iteration, for range-for.
  template <typename V, typename Owner>
  class Iterator {
   public:
    Iterator(Owner* v, size_t i) : v_(v), i_(i) {}
    V& operator*() const { return (*v_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    Owner* v_;
    size_t i_;
  };
  Iterator<T, BlockVector> begin() { return {this, 0}; }
  Iterator<T, BlockVector> end() { return {this, size_}; }
  Iterator<const T, const BlockVector> begin() const { return {this, 0}; }
  Iterator<const T, const BlockVector> end() const { return {this, size_}; }

 private:
  T* Block(size_t b) const { return reinterpret_cast<T*>(blocks_[b].get()); }

  std::vector<std::unique_ptr<std::byte[]>> blocks_;  // raw storage for kPerBlock Ts each
  size_t size_ = 0;
};

}  // namespace tl
